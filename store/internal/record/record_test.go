package record

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/riscd/riscd"
)

// The bbolt engine's files hold these encodings: a change to a field's
// name, tag or order would make existing records read differently.
func TestEncodingIsTheStoreFileLayout(t *testing.T) {
	at := StampOf(time.Unix(0, 1700000000123456789))
	ct := []byte{1, 2}
	for _, c := range []struct {
		name string
		got  func() ([]byte, error)
		want string
	}{
		{"account", func() ([]byte, error) {
			return Encode(Account{V: 1, Email: "a@example.com", SessionsRevokedAt: at, SigninDisabled: true, Held: true,
				Review: true, ReconsentRequired: true, CredentialChangeRequired: true, Purged: true, Flags: []string{"f"},
				CreatedAt: at, UpdatedAt: at})
		}, `{"v":1,"email":"a@example.com","sra":1700000000123456789,"signin_off":true,"held":true,"review":true,` +
			`"reconsent":true,"cred_change":true,"purged":true,"flags":["f"],"ca":1700000000123456789,"ua":1700000000123456789}`},
		{"account, zero", func() ([]byte, error) { return Encode(Account{V: 1}) }, `{"v":1}`},
		{"audit", func() ([]byte, error) {
			return Encode(Audit{V: 1, At: at, Transmitter: "g", EventJTI: "j", EventType: "t", Sub: "s",
				GrantIDs: []string{"g1"}, Action: "a", Outcome: "o", Detail: "d", Actor: "x", DryRun: true})
		}, `{"v":1,"at":1700000000123456789,"tx":"g","jti":"j","type":"t","sub":"s","grants":["g1"],"action":"a",` +
			`"outcome":"o","detail":"d","actor":"x","dry":true}`},
		{"mark", func() ([]byte, error) { return Encode(Mark{V: 1, Key: "k", At: at, AuditID: 7}) },
			`{"v":1,"key":"k","at":1700000000123456789,"audit":7}`},
		{"mark, zero", func() ([]byte, error) { return Encode(Mark{V: 1}) }, `{"v":1,"key":""}`},
		{"flow", func() ([]byte, error) {
			return Encode(Flow{V: 1, State: ct, PKCEVerifier: ct, Nonce: ct, Features: []string{"f"}, Scopes: []string{"s"},
				Sub: "u", ConnectID: "c", CreatedAt: at})
		}, `{"v":1,"state":"AQI=","pkce":"AQI=","nonce":"AQI=","features":["f"],"scopes":["s"],"sub":"u","connect":"c",` +
			`"ca":1700000000123456789}`},
		{"session", func() ([]byte, error) {
			return Encode(Session{V: 1, Sub: "u", Email: "e", CSRF: ct, CreatedAt: at, ExpiresAt: at})
		}, `{"v":1,"sub":"u","email":"e","csrf":"AQI=","ca":1700000000123456789,"exp":1700000000123456789}`},
		{"admin session", func() ([]byte, error) {
			return Encode(AdminSession{V: 1, Operator: "o", CSRF: ct, CreatedAt: at, ExpiresAt: at})
		}, `{"v":1,"op":"o","csrf":"AQI=","ca":1700000000123456789,"exp":1700000000123456789}`},
		{"grant", func() ([]byte, error) {
			return Encode(Grant{V: 1, Sub: "u", Email: "e", EmailOK: true, Scopes: []string{"s"}, RefreshToken: ct,
				AccessToken: ct, TokenType: "Bearer", Expiry: at, IDTokenExp: at, Status: "active", Reason: "r",
				ChangedBy: "b", CreatedAt: at, UpdatedAt: at, LastUsedAt: at, RefreshedAt: at})
		}, `{"v":1,"sub":"u","email":"e","ev":true,"scopes":["s"],"rt":"AQI=","at":"AQI=","tt":"Bearer",` +
			`"exp":1700000000123456789,"idexp":1700000000123456789,"st":"active","why":"r","by":"b",` +
			`"ca":1700000000123456789,"ua":1700000000123456789,"lu":1700000000123456789,"ra":1700000000123456789}`},
		{"grant, zero", func() ([]byte, error) { return Encode(Grant{V: 1}) }, `{"v":1,"sub":"","st":""}`},
		{"outbox", func() ([]byte, error) {
			return Encode(Outbox{V: 1, Kind: "revoke", Key: "k", Token: ct, Payload: json.RawMessage(`{"a":1}`),
				GrantID: "g", CreatedAt: at, Deadline: at, Status: "pending", Attempts: 2, LastError: "e",
				NextAttempt: at, DoneAt: at})
		}, `{"v":1,"kind":"revoke","key":"k","tok":"AQI=","payload":{"a":1},"grant":"g","ca":1700000000123456789,` +
			`"deadline":1700000000123456789,"st":"pending","n":2,"err":"e","next":1700000000123456789,"done":1700000000123456789}`},
		{"inbox", func() ([]byte, error) {
			return Encode(Inbox{V: 1, Transmitter: "g", Iss: "i", JTI: "j", Subject: "s", Types: []string{"t"},
				Raw: "r", Claims: json.RawMessage(`{}`), SealedRaw: ct, SealedClaims: ct, ReceivedAt: at, Status: "done",
				Attempts: 1, LastError: "e", NextAttempt: at, DoneAt: at})
		}, `{"v":1,"tx":"g","iss":"i","jti":"j","subj":"s","types":["t"],"raw":"r","claims":{},"sraw":"AQI=",` +
			`"sclaims":"AQI=","ra":1700000000123456789,"st":"done","n":1,"err":"e","next":1700000000123456789,` +
			`"done":1700000000123456789}`},
		{"connect", func() ([]byte, error) {
			return Encode(Connect{V: 1, AppUser: "a", Features: []string{"f"}, ReturnTo: "r", LoginHint: ct,
				StartDigest: ct, StateDigest: ct, Status: "open", Sub: "s", Email: ct, GrantID: "g",
				Scopes: []string{"x"}, Error: "e", CreatedAt: at, ExpiresAt: at})
		}, `{"v":1,"app_user":"a","features":["f"],"return_to":"r","hint":"AQI=","start":"AQI=","state":"AQI=",` +
			`"status":"open","sub":"s","email":"AQI=","grant":"g","scopes":["x"],"error":"e","ca":1700000000123456789,` +
			`"exp":1700000000123456789}`},
		{"link", func() ([]byte, error) { return Encode(Link{V: 1, CreatedAt: at}) }, `{"v":1,"ca":1700000000123456789}`},
		{"time outside int64 nanoseconds", func() ([]byte, error) {
			return Encode(Link{V: 1, CreatedAt: StampOf(time.Date(3000, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600)))})
		}, `{"v":1,"ca":"3000-01-02T02:04:05.000000006Z"}`},
	} {
		got, err := c.got()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if string(got) != c.want {
			t.Errorf("%s: encoded\n%s\nwant\n%s", c.name, got, c.want)
		}
	}
}

func TestDecodeRefusesUnknownVersionsAndNonJSON(t *testing.T) {
	for _, data := range []string{`{"v":0}`, `{"v":2}`, `{}`, `not json`, `{"v":1,"ca":"yesterday"}`} {
		if _, err := DecodeAccount("s", []byte(data)); !errors.Is(err, riscd.ErrCorrupt) {
			t.Errorf("DecodeAccount(%s) = %v, want ErrCorrupt", data, err)
		}
	}
	a, err := DecodeAccount("s", []byte(`{"v":1,"ca":"3000-01-02T03:04:05.000000006+01:00","ua":-5}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(3000, 1, 2, 2, 4, 5, 6, time.UTC); !a.CreatedAt.Equal(want) || a.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v in UTC", a.CreatedAt, want)
	}
	if want := time.Unix(0, -5).UTC(); !a.UpdatedAt.Equal(want) || a.UpdatedAt.Location() != time.UTC {
		t.Errorf("UpdatedAt = %v, want %v in UTC", a.UpdatedAt, want)
	}
}
