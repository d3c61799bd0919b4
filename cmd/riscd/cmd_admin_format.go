package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// tableCellMax bounds a free-text cell of a table (last errors, details);
// show commands print them whole.
const tableCellMax = 60

// adminTable writes aligned columns: a header row, then rows.
type adminTable struct{ tw *tabwriter.Writer }

func newAdminTable(w io.Writer, header ...string) *adminTable {
	t := &adminTable{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.row(header...)
	return t
}

// row writes one row; cells are made printable.
func (t *adminTable) row(cells ...string) {
	for i, c := range cells {
		cells[i] = printable(c)
	}
	fmt.Fprintln(t.tw, strings.TrimRight(strings.Join(cells, "\t"), "\t"))
}

func (t *adminTable) flush() error { return t.tw.Flush() }

// adminFields writes "name:  value" lines aligned on the values.
type adminFields struct{ tw *tabwriter.Writer }

func newAdminFields(w io.Writer) *adminFields {
	return &adminFields{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
}

// add writes one field; more values go on lines of their own below it.
func (f *adminFields) add(name string, values ...string) {
	if len(values) == 0 {
		values = []string{""}
	}
	fmt.Fprintf(f.tw, "%s:\t%s\n", name, printable(values[0]))
	for _, v := range values[1:] {
		fmt.Fprintf(f.tw, "\t%s\n", printable(v))
	}
}

func (f *adminFields) flush() error { return f.tw.Flush() }

// printable makes an API string safe for one cell of a terminal table: control
// characters (tabs, newlines, escapes) become spaces.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// truncateCell cuts s to tableCellMax characters.
func truncateCell(s string) string {
	r := []rune(s)
	if len(r) <= tableCellMax {
		return s
	}
	return string(r[:tableCellMax-1]) + "…"
}

// utcStamp formats a time in UTC to the second; the zero time is "-".
func utcStamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// utcStampOr formats an optional time, or says none.
func utcStampOr(t *time.Time, none string) string {
	if t == nil || t.IsZero() {
		return none
	}
	return utcStamp(*t)
}

// orDash is s, or "-" when s is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeAdminJSON prints v as indented JSON.
func writeAdminJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
