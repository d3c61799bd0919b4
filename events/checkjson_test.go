package events

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"empty object", `{}`, true},
		{"jws header", `{"alg":"RS256","kid":"k1","typ":"secevent+jwt"}`, true},
		{"same name in sibling objects", `{"a":{"x":1},"b":{"x":2}}`, true},
		{"same name in array elements", `{"a":[{"x":1},{"x":2}]}`, true},
		{"nested ok", `{"a":{"b":{"c":[1,"x",null,true,{"d":[]}]}}}`, true},
		{"white space around", " \n{\"a\":1}\n ", true},
		{"duplicate top", `{"alg":"RS256","alg":"none"}`, false},
		{"duplicate nested", `{"a":{"b":1,"b":1}}`, false},
		{"duplicate in array", `{"a":[1,{"b":1,"c":{"d":1,"d":2}}]}`, false},
		{"duplicate by escape", `{"alg":"RS256","\u0061lg":"none"}`, false},
		{"array top", `[]`, false},
		{"number top", `1`, false},
		{"null top", `null`, false},
		{"two objects", `{}{}`, false},
		{"trailing garbage", `{} x`, false},
		{"unterminated", `{"a":1`, false},
		{"bad literal", `{"a":tru}`, false},
		{"single quotes", `{'a':1}`, false},
		{"empty", ``, false},
		{"too deep", `{"a":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`, false},
		{"deep but allowed", `{"a":` + strings.Repeat("[", 62) + strings.Repeat("]", 62) + `}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckJSON([]byte(tt.in))
			if tt.ok && err != nil {
				t.Errorf("CheckJSON(%s) = %v, want nil", tt.in, err)
			}
			if !tt.ok && !errors.Is(err, ErrMalformed) {
				t.Errorf("CheckJSON(%s) = %v, want ErrMalformed", tt.in, err)
			}
		})
	}
}
