package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// This file keeps the json.Decoder-based CheckJSON and orderedMembers that
// the byte-level walkers replaced, as the reference the differential tests
// and fuzz targets compare them with. Do not optimise it.

// refCheckJSON is the former CheckJSON.
func refCheckJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return malformed("not valid JSON")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return malformed("not a JSON object")
	}
	if err := refCheckValue(dec, '{', 1); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return malformed("data after the JSON object")
	}
	return nil
}

func refCheckValue(dec *json.Decoder, open json.Delim, depth int) error {
	if depth > maxDepth {
		return malformed("JSON nested too deeply")
	}
	var seen map[string]struct{}
	if open == '{' {
		seen = make(map[string]struct{})
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return malformed("not valid JSON")
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			return nil
		}
		if open == '{' {
			name, ok := tok.(string)
			if !ok {
				return malformed("not valid JSON")
			}
			if _, dup := seen[name]; dup {
				return malformed("duplicate member %s", quote(name))
			}
			seen[name] = struct{}{}
			if tok, err = dec.Token(); err != nil {
				return malformed("not valid JSON")
			}
		}
		if d, ok := tok.(json.Delim); ok {
			if err := refCheckValue(dec, d, depth+1); err != nil {
				return err
			}
		}
	}
}

// refOrderedMembers is the former orderedMembers.
func refOrderedMembers(raw json.RawMessage, where string) ([]member, error) {
	if !isKind(raw, '{') {
		return nil, malformed("%s is not an object", where)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, malformed("%s is not valid JSON", where)
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, malformed("%s is not valid JSON", where)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, malformed("%s is not valid JSON", where)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, malformed("%s is not valid JSON", where)
		}
		out = append(out, member{name: name, value: v})
	}
	return out, nil
}
