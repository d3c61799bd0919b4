package events

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
)

const (
	googleIss  = "https://accounts.google.com/"
	googleAud  = "123-abc.apps.googleusercontent.com"
	testJTI    = "756E69717565206964656E746966696572"
	googleSub  = "7375626A656374"
	issSubJSON = `{"subject_type": "iss-sub", "iss": "https://accounts.google.com/", "sub": "7375626A656374"}`
	ssfIss     = "https://idp.example.com/123456789/"
)

// googleUser is the subject of the example in Google's "Protect user
// accounts with Cross-Account Protection" page.
var googleUser = IssSub{Iss: googleIss, Sub: googleSub}

// googleSET returns a payload in Google's legacy shape around one event.
func googleSET(uri, event string) []byte {
	return fmt.Appendf(nil, `{"iss": %q, "aud": %q, "iat": 1508184845, "jti": %q, "events": {%q: %s}}`,
		googleIss, googleAud, testJTI, uri, event)
}

// ssfSET returns an SSF payload with the given sub_id around one event.
func ssfSET(subID, uri, event string) []byte {
	return fmt.Appendf(nil, `{"iss": %q, "aud": "https://sp.example.com/caep", "iat": 1615305159, "jti": "24c63fb56e5a2d77a6b512616ca9fa24", "txn": "8675309", "sub_id": %s, "events": {%q: %s}}`,
		ssfIss, subID, uri, event)
}

func mustParse(tb testing.TB, payload []byte, f Format) *SET {
	tb.Helper()
	set, err := NewRegistry().Parse(payload, f)
	if err != nil {
		tb.Fatalf("Parse(%s): %v", payload, err)
	}
	return set
}

func onlyEvent(tb testing.TB, set *SET) Event {
	tb.Helper()
	if len(set.Events) != 1 {
		tb.Fatalf("got %d events, want 1", len(set.Events))
	}
	return set.Events[0]
}

func mustMalformed(tb testing.TB, payload []byte, f Format) string {
	tb.Helper()
	set, err := NewRegistry().Parse(payload, f)
	if err == nil {
		tb.Fatalf("Parse(%s) = %+v, want an error", payload, set)
	}
	if !errors.Is(err, ErrMalformed) {
		tb.Fatalf("Parse(%s) error %v does not match ErrMalformed", payload, err)
	}
	d := Description(err)
	if d == "" {
		tb.Fatalf("Parse(%s): empty description for %v", payload, err)
	}
	return d
}

func assertEvent(tb testing.TB, got, want Event) {
	tb.Helper()
	if !reflect.DeepEqual(got, want) {
		tb.Errorf("event:\n got %#v\nwant %#v", got, want)
	}
}
