package events

import (
	"testing"
	"time"
)

// The examples of Google's "Protect user accounts with Cross-Account
// Protection" page, one per event Google sends.
func TestParseGoogleEvents(t *testing.T) {
	tokenSubject := `{"subject_type": "oauth_token", "token_type": "refresh_token", "token_identifier_alg": "hash_base64_sha512_sha512", "token": "7375626A656374"}`
	token := OAuthToken{TokenType: "refresh_token", Alg: AlgHashSHA512SHA512, Token: "7375626A656374"}
	user := func(uri string) base { return base{uri: uri, subject: googleUser} }
	tests := []struct {
		name  string
		uri   string
		event string
		want  Event
	}{
		{"sessions-revoked", TypeSessionsRevoked, `{"subject": ` + issSubJSON + `}`,
			SessionsRevoked{user(TypeSessionsRevoked)}},
		{"tokens-revoked", TypeTokensRevoked, `{"subject": ` + issSubJSON + `}`,
			TokensRevoked{user(TypeTokensRevoked)}},
		{"token-revoked", TypeTokenRevoked, `{"subject": ` + tokenSubject + `}`,
			TokenRevoked{base: base{uri: TypeTokenRevoked, subject: token}, Token: token}},
		{"account-disabled hijacking", TypeAccountDisabled, `{"subject": ` + issSubJSON + `, "reason": "hijacking"}`,
			AccountDisabled{base: user(TypeAccountDisabled), Reason: ReasonHijacking}},
		{"account-disabled bulk-account", TypeAccountDisabled, `{"subject": ` + issSubJSON + `, "reason": "bulk-account"}`,
			AccountDisabled{base: user(TypeAccountDisabled), Reason: ReasonBulkAccount}},
		{"account-disabled no reason", TypeAccountDisabled, `{"subject": ` + issSubJSON + `}`,
			AccountDisabled{base: user(TypeAccountDisabled)}},
		{"account-enabled", TypeAccountEnabled, `{"subject": ` + issSubJSON + `}`,
			AccountEnabled{user(TypeAccountEnabled)}},
		{"account-credential-change-required", TypeAccountCredentialChangeRequired, `{"subject": ` + issSubJSON + `}`,
			AccountCredentialChangeRequired{user(TypeAccountCredentialChangeRequired)}},
		{"account-purged", TypeAccountPurged, `{"subject": ` + issSubJSON + `}`,
			AccountPurged{user(TypeAccountPurged)}},
		{"verification", TypeRISCVerification, `{"state": "test-state-1"}`,
			Verification{base: base{uri: TypeRISCVerification}, State: "test-state-1"}},
		{"verification without state", TypeRISCVerification, `{}`,
			Verification{base: base{uri: TypeRISCVerification}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := mustParse(t, googleSET(tt.uri, tt.event), FormatGoogle)
			assertEvent(t, onlyEvent(t, set), tt.want)
			if set.Iss != googleIss || set.JTI != testJTI {
				t.Errorf("iss, jti = %q, %q; want %q, %q", set.Iss, set.JTI, googleIss, testJTI)
			}
			if len(set.Aud) != 1 || set.Aud[0] != googleAud {
				t.Errorf("aud = %q, want [%q]", set.Aud, googleAud)
			}
			if want := time.Unix(1508184845, 0).UTC(); !set.IAT.Equal(want) {
				t.Errorf("iat = %v, want %v", set.IAT, want)
			}
			if set.SubID != nil || !set.TOE.IsZero() || set.TXN != "" {
				t.Errorf("sub_id, toe, txn = %v, %v, %q; want all empty", set.SubID, set.TOE, set.TXN)
			}
		})
	}
}

// The exact payload Google's Cross-Account Protection page shows, white
// space and all.
func TestParseReferenceExample(t *testing.T) {
	payload := []byte(`{"iss": "https://accounts.google.com/", "aud": "123-abc.apps.googleusercontent.com",
     "iat": 1508184845, "jti": "756E69717565206964656E746966696572",
     "events": {"https://schemas.openid.net/secevent/risc/event-type/account-disabled":
        {"subject": {"subject_type": "iss-sub", "iss": "https://accounts.google.com/", "sub": "7375626A656374"},
         "reason": "hijacking"}}}`)
	set := mustParse(t, payload, FormatGoogle)
	ev, ok := onlyEvent(t, set).(AccountDisabled)
	if !ok {
		t.Fatalf("event is %T, want AccountDisabled", set.Events[0])
	}
	if ev.Reason != "hijacking" {
		t.Errorf("reason = %q, want hijacking", ev.Reason)
	}
	got, ok := IssSubOf(ev.Subject())
	if !ok || got.Sub != googleSub {
		t.Errorf("IssSubOf = %v, %v; want sub %q", got, ok, googleSub)
	}
	if want := "iss_sub:https://accounts.google.com|7375626A656374"; set.Key() != want {
		t.Errorf("Key() = %q, want %q", set.Key(), want)
	}
}

func TestParseGoogleSubjectSpellings(t *testing.T) {
	tests := []struct {
		name    string
		subject string
		want    Subject
	}{
		{"subject_type iss-sub", issSubJSON, googleUser},
		{"subject_type iss_sub", `{"subject_type": "iss_sub", "iss": "https://accounts.google.com/", "sub": "7375626A656374"}`, googleUser},
		{"format iss_sub", `{"format": "iss_sub", "iss": "https://accounts.google.com/", "sub": "7375626A656374"}`, googleUser},
		{"both spellings agreeing", `{"format": "iss_sub", "subject_type": "iss-sub", "iss": "https://accounts.google.com/", "sub": "7375626A656374"}`, googleUser},
		{"id_token_claims", `{"subject_type": "id_token_claims", "iss": "https://accounts.google.com", "sub": "7375626A656374", "email": "user@example.com"}`,
			IDTokenClaims{Iss: "https://accounts.google.com", Sub: googleSub, Email: "user@example.com"}},
		{"id_token_claims without email", `{"subject_type": "id_token_claims", "iss": "https://accounts.google.com", "sub": "7375626A656374"}`,
			IDTokenClaims{Iss: "https://accounts.google.com", Sub: googleSub}},
		{"email", `{"subject_type": "email", "email": "user@example.com"}`, Email{Address: "user@example.com"}},
		{"phone", `{"subject_type": "phone", "phone": "+12065550100"}`, Phone{Number: "+12065550100"}},
		{"phone_number", `{"format": "phone_number", "phone_number": "+12065550100"}`, Phone{Number: "+12065550100"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := mustParse(t, googleSET(TypeSessionsRevoked, `{"subject": `+tt.subject+`}`), FormatGoogle)
			assertEvent(t, onlyEvent(t, set), SessionsRevoked{base{uri: TypeSessionsRevoked, subject: tt.want}})
		})
	}
}

// iss-sub and id_token_claims about one user order in one lane.
func TestSubjectKeyAgreesAcrossGoogleSpellings(t *testing.T) {
	a := SubjectKey(IssSub{Iss: "https://accounts.google.com/", Sub: "42"})
	b := SubjectKey(IDTokenClaims{Iss: "https://accounts.google.com", Sub: "42", Email: "x@example.com"})
	c := SubjectKey(Complex{User: IssSub{Iss: "https://accounts.google.com", Sub: "42"}, Tenant: Opaque{ID: "t"}})
	d := SubjectKey(Aliases{Identifiers: []Subject{Email{Address: "x@example.com"}, IssSub{Iss: "https://accounts.google.com", Sub: "42"}}})
	want := "iss_sub:https://accounts.google.com|42"
	for i, got := range []string{a, b, c, d} {
		if got != want {
			t.Errorf("key %d = %q, want %q", i, got, want)
		}
	}
}

func TestTokenRevokedBothAlgorithms(t *testing.T) {
	const refresh = "1//0gExampleRefreshTokenValue-abcdefghijklmnop"
	tests := []struct {
		name      string
		alg, id   string
		wantMatch bool
		wantProof bool
	}{
		{"prefix", AlgPrefix, refresh[:16], true, false},
		{"prefix of another token", AlgPrefix, "1//0gOtherTokenX", false, false},
		{"hash standard base64", AlgHashSHA512SHA512, TokenHash(refresh), true, true},
		{"hash of another token", AlgHashSHA512SHA512, TokenHash(refresh + "x"), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subject := `{"subject_type": "oauth_token", "token_type": "refresh_token", "token_identifier_alg": "` + tt.alg + `", "token": "` + tt.id + `"}`
			set := mustParse(t, googleSET(TypeTokenRevoked, `{"subject": `+subject+`}`), FormatGoogle)
			ev, ok := onlyEvent(t, set).(TokenRevoked)
			if !ok {
				t.Fatalf("event is %T, want TokenRevoked", set.Events[0])
			}
			if ev.Token.Alg != tt.alg || ev.Token.Token != tt.id || ev.Token.TokenType != "refresh_token" {
				t.Errorf("token = %+v, want alg %q id %q", ev.Token, tt.alg, tt.id)
			}
			if got := ev.Token.Matches(refresh); got != tt.wantMatch {
				t.Errorf("Matches = %v, want %v", got, tt.wantMatch)
			}
			if got := ev.Token.IsProof(); got != tt.wantProof {
				t.Errorf("IsProof = %v, want %v", got, tt.wantProof)
			}
		})
	}
}

func TestTokenRevokedNeedsOAuthTokenSubject(t *testing.T) {
	d := mustMalformed(t, googleSET(TypeTokenRevoked, `{"subject": `+issSubJSON+`}`), FormatGoogle)
	if want := "token-revoked: subject is not an oauth_token"; d != want {
		t.Errorf("description = %q, want %q", d, want)
	}
}
