package receiver

import (
	"bytes"
	"errors"
	"io"

	"github.com/go-json-experiment/json/jsontext"
)

// Errors of readObject besides jsontext's own.
var (
	errNotObject = errors.New("not a JSON object")
	errTrailing  = errors.New("data after the JSON object")
	// errStopRead: a member function has seen enough.
	errStopRead = errors.New("stop reading")
)

// readObject reads the JSON text b (RFC 8259), which must be one object, with
// a jsontext decoder configured by opts, and calls member with the name of
// each top-level member in turn; member must read or skip its value from d.
// By default jsontext refuses duplicate member names (escaped spellings
// too) and invalid UTF-8 anywhere in b. An error from member ends the read
// and is returned as is.
func readObject(b []byte, member func(d *jsontext.Decoder, name string) error, opts ...jsontext.Options) error {
	d := jsontext.NewDecoder(bytes.NewBuffer(b), opts...)
	if d.PeekKind() != '{' {
		return errNotObject
	}
	if _, err := d.ReadToken(); err != nil {
		return err
	}
	for d.PeekKind() == '"' {
		name, err := d.ReadToken()
		if err != nil {
			return err
		}
		if err := member(d, name.String()); err != nil {
			return err
		}
	}
	if _, err := d.ReadToken(); err != nil { // '}', or what is wrong instead
		return err
	}
	if _, err := d.ReadToken(); err != io.EOF {
		return errTrailing
	}
	return nil
}

// readString reads a string value from d into dst; it reports false, with
// the value skipped, when the value is not a string.
func readString(d *jsontext.Decoder, dst *string) (bool, error) {
	if d.PeekKind() != '"' {
		return false, d.SkipValue()
	}
	tok, err := d.ReadToken()
	if err != nil {
		return false, err
	}
	*dst = tok.String()
	return true, nil
}

// describeJSON is the short description of readObject's error err, for an
// answer: it never quotes the input.
func describeJSON(err error) string {
	var se *jsontext.SyntacticError
	switch {
	case errors.Is(err, errNotObject), errors.Is(err, errTrailing):
		return err.Error()
	case errors.As(err, &se) && errors.Is(se.Err, jsontext.ErrDuplicateName):
		return "duplicate member name"
	default:
		return "not valid JSON or not UTF-8"
	}
}
