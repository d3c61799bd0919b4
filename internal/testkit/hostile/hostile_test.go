package hostile

import (
	"slices"
	"testing"
)

func TestCasesAreNamedOnceAndExpectAnRFC8935Code(t *testing.T) {
	codes := []string{InvalidRequest, InvalidKey, InvalidIssuer, InvalidAudience}
	seen := map[string]bool{}
	for _, tc := range Cases() {
		if seen[tc.Name] {
			t.Errorf("case %q twice", tc.Name)
		}
		seen[tc.Name] = true
		if !slices.Contains(codes, tc.Want) {
			t.Errorf("%s: want %q, not an RFC 8935 error code the receiver answers", tc.Name, tc.Want)
		}
		if tc.Token == nil {
			t.Errorf("%s: no token", tc.Name)
		}
	}
}

// Callers that can send only one unknown kid send the first.
func TestFirstUnknownKidCaseIsAPlainUnknownKid(t *testing.T) {
	i := slices.IndexFunc(Cases(), func(c Case) bool { return c.UnknownKid })
	if i < 0 || Cases()[i].Name != "unknown kid" {
		t.Errorf("first UnknownKid case at %d, want \"unknown kid\"", i)
	}
}
