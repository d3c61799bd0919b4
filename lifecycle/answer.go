package lifecycle

import (
	"encoding/base64"
	"strings"
	"unicode"
)

// maxExcerpt bounds the part of an app's answer a failed webhook's last
// error quotes.
const maxExcerpt = 200

// answerExcerpt is the start of an answer's body, safe to keep in a job's
// last error and to show an operator: at most maxExcerpt bytes of valid
// UTF-8, control characters and runs of white space as one space, and every
// occurrence of a secret (the request's signature, the webhook secret in its
// usual spellings, should the app echo them) replaced. "" for an empty body.
func answerExcerpt(body []byte, secrets ...string) string {
	s := strings.ToValidUTF8(string(body[:min(len(body), 4*maxExcerpt)]), "")
	for _, v := range secrets {
		if len(v) >= 8 {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	if len(s) > maxExcerpt {
		s = strings.ToValidUTF8(s[:maxExcerpt], "") + "…"
	}
	return s
}

// secretForms are the spellings of the webhook secret an app might echo.
func (s *webhookSigner) secretForms() []string {
	raw := base64.RawStdEncoding.EncodeToString(s.key)
	std := base64.StdEncoding.EncodeToString(s.key)
	url := base64.RawURLEncoding.EncodeToString(s.key)
	return []string{webhookSecretPrefix + std, webhookSecretPrefix + raw, std, raw, url}
}
