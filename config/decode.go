package config

import (
	"encoding"
	"os"
	"reflect"
	"strings"

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

// keyPositions maps each key of the YAML file at path, dotted
// ("store.path"), to the line it is on; nil when the file does not parse.
func keyPositions(path string) map[string]int {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil || len(root.Content) == 0 {
		return nil
	}
	out := map[string]int{}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := join(prefix, n.Content[i].Value)
			if _, ok := out[key]; !ok {
				out[key] = n.Content[i].Line
			}
			walk(n.Content[i+1], key)
		}
	}
	walk(root.Content[0], "")
	return out
}

// WithLines gives each error about a key of the file at path ("store.path",
// "store.previous_key_files[1]") that names no line the line the key is
// on in the file. A key the file does not hold (a default, a value from
// the environment) keeps none.
func WithLines(path string, errs Errors) Errors {
	var pos map[string]int
	for i, e := range errs {
		if e.File != path || e.Line > 0 || e.Key == "" {
			continue
		}
		if pos == nil {
			if pos = keyPositions(path); pos == nil {
				return errs
			}
		}
		key, _, _ := strings.Cut(e.Key, "[")
		errs[i].Line = pos[key]
	}
	return errs
}
