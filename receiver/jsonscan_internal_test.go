package receiver

import (
	"errors"
	"slices"
	"testing"
)

func TestEachMember(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    []string // name=value pairs
		wantErr bool
	}{
		{"empty object", `{}`, nil, false},
		{"white space", " \t\r\n{ \"a\" : 1 , \"b\":\"x\" }\n", []string{"a=1", "b=\"x\""}, false},
		{"nested values", `{"a":{"iss":"no","b":[1,{"c":"}"}]},"iss":"yes"}`, []string{`a={"iss":"no","b":[1,{"c":"}"}]}`, `iss="yes"`}, false},
		{"strings with escapes", `{"a":"q\"}]","b\"c":true}`, []string{`a="q\"}]"`, `b"c=true`}, false},
		{"escaped member name", `{"\u0069ss":"x"}`, []string{`iss="x"`}, false},
		{"literals", `{"a":null,"b":false,"c":-1.5e3}`, []string{"a=null", "b=false", "c=-1.5e3"}, false},
		{"deep nesting without recursion", `{"a":` + repeat("[", 100000) + repeat("]", 100000) + `}`, []string{"a=" + repeat("[", 100000) + repeat("]", 100000)}, false},
		{"array", `[1]`, nil, true},
		{"empty", ``, nil, true},
		{"unterminated string", `{"a":"x}`, nil, true},
		{"unterminated object", `{"a":{"b":1}`, nil, true},
		{"missing colon", `{"a" 1}`, nil, true},
		{"trailing comma", `{"a":1,}`, nil, true},
		{"missing value", `{"a":}`, nil, true},
		{"bare name", `{a:1}`, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			err := eachMember([]byte(tc.in), func(name string, v []byte) bool {
				got = append(got, name+"="+string(v))
				return true
			})
			if tc.wantErr {
				if !errors.Is(err, errScan) {
					t.Errorf("err = %v, want errScan", err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("members = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestEachMemberStopsEarly(t *testing.T) {
	n := 0
	err := eachMember([]byte(`{"a":1,"b":2,"c":`), func(string, []byte) bool { n++; return n < 2 })
	if err != nil || n != 2 {
		t.Errorf("calls = %d, err %v; want 2 calls and no error (the rest is not read)", n, err)
	}
}

func repeat(s string, n int) string {
	b := make([]byte, 0, len(s)*n)
	for range n {
		b = append(b, s...)
	}
	return string(b)
}
