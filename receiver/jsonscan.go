package receiver

import (
	"encoding/json"
	"errors"
)

// errScan: the bytes are not shaped like a JSON object. The scanner does not
// validate JSON; events.CheckJSON and the events parser do.
var errScan = errors.New("not a JSON object")

// eachMember calls fn with the name and raw value of every top-level member
// of the JSON object b, in order, until fn returns false. It is a fast,
// allocation-light walk for the few members the receiver reads before the
// full parse; it checks structure only as far as it needs to find member
// boundaries, so its results must be confirmed by a validating parse.
func eachMember(b []byte, fn func(name string, value []byte) bool) error {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errScan
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return errScan
		}
		end, escaped := skipString(b, i)
		if end < 0 {
			return errScan
		}
		name := string(b[i+1 : end-1])
		if escaped {
			if json.Unmarshal(b[i:end], &name) != nil {
				return errScan
			}
		}
		i = skipWS(b, end)
		if i >= len(b) || b[i] != ':' {
			return errScan
		}
		start := skipWS(b, i+1)
		vEnd := skipValue(b, start)
		if vEnd < 0 {
			return errScan
		}
		if !fn(name, b[start:vEnd]) {
			return nil
		}
		i = skipWS(b, vEnd)
		switch {
		case i < len(b) && b[i] == ',':
			i = skipWS(b, i+1)
		case i < len(b) && b[i] == '}':
			return nil
		default:
			return errScan
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i] (a
// quote), and whether it holds escapes; -1 when it does not end.
func skipString(b []byte, i int) (int, bool) {
	escaped := false
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped
		}
	}
	return -1, escaped
}

// skipValue returns the index just past the value starting at b[i], or -1.
// Objects and arrays are skipped by counting brackets outside strings, with
// no recursion, whatever their depth.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _ := skipString(b, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _ := skipString(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}
