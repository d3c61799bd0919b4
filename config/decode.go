package config

import (
	"encoding"
	"reflect"

	"go.yaml.in/yaml/v3"
)

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// textValueErrors checks a scalar node decoded by a type's UnmarshalText (a
// Duration: "90d") and reports its error naming key and line; yaml.v3
// would return the bare message, without either, and stop there.
func textValueErrors(file string, node *yaml.Node, t reflect.Type, key string) (Errors, bool) {
	if node.Kind != yaml.ScalarNode || !reflect.PointerTo(t).Implements(textUnmarshaler) {
		return nil, false
	}
	if node.Tag == "!!null" {
		return nil, true
	}
	tu := reflect.New(t).Interface().(encoding.TextUnmarshaler)
	if err := tu.UnmarshalText([]byte(node.Value)); err != nil {
		return Errors{{File: file, Line: node.Line, Key: key, Msg: err.Error()}}, true
	}
	return nil, true
}

// keyLines maps the line of each value in the mapping node (and those it
// holds) to its key, so that yaml.v3's type errors, which name only the
// line, can name the key too.
func keyLines(node *yaml.Node, prefix string, lines map[int]string) map[int]string {
	if lines == nil {
		lines = map[int]string{}
	}
	switch node.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, v := node.Content[i], node.Content[i+1]
			key := join(prefix, k.Value)
			// A value on its key's line (a scalar, a flow collection):
			// the outermost key on a line names it. A block collection
			// starts on a later line, whose own keys name it.
			if _, ok := lines[v.Line]; !ok && v.Line == k.Line {
				lines[v.Line] = key
			}
			keyLines(v, key, lines)
		}
	case yaml.SequenceNode:
		for _, v := range node.Content {
			if _, ok := lines[v.Line]; !ok {
				lines[v.Line] = prefix
			}
			keyLines(v, prefix, lines)
		}
	}
	return lines
}
