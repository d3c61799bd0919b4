package flowweb

import (
	"errors"
	"net"
	"net/url"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// urlShorteners are hosts Google refuses as redirect URIs.
var urlShorteners = []string{
	"goo.gl", "bit.ly", "tinyurl.com", "t.co", "ow.ly", "is.gd", "buff.ly", "rebrand.ly", "cutt.ly",
	"shorturl.at", "tiny.cc", "rb.gy", "bl.ink", "lnkd.in", "s.id", "t.ly", "v.gd", "shorte.st", "adf.ly",
}

// CheckRedirectURI applies the rules Google enforces on an OAuth client's
// redirect URIs (Google's "Redirect URI validation rules",
// https://developers.google.com/identity/protocols/oauth2/web-server#uri-validation)
// and returns the first rule broken, as an error a person can act on; nil
// means raw satisfies them all. It reads nothing but raw.
func CheckRedirectURI(raw string) error {
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c < 0x21 || c > 0x7e {
			return errors.New("contains a space, a non-printable or a non-ASCII character")
		}
	}
	if strings.Contains(raw, "*") {
		return errors.New("must not contain a wildcard '*'")
	}
	if strings.Contains(raw, "#") {
		return errors.New("must not contain a fragment ('#')")
	}
	if err := checkPercentEncoding(raw); err != nil {
		return err
	}
	if hasTraversal(raw) {
		return errors.New("must not contain path traversal ('/..' or '\\..', plain or percent-encoded)")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return errors.New("must be an absolute URL with a scheme and a host")
	}
	if u.User != nil {
		return errors.New("must not contain user info ('user@')")
	}
	host := strings.ToLower(u.Hostname())
	loopback := isLoopbackHost(host)
	switch u.Scheme {
	case "https":
	case "http":
		if !loopback {
			return errors.New("must use https (plain http is allowed only for localhost and loopback addresses)")
		}
	default:
		return errors.New("scheme must be https (or http for loopback)")
	}
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return errors.New("host must be a domain name, not a raw IP address (loopback excepted)")
		}
	} else if !loopback {
		if err := checkDomain(host); err != nil {
			return err
		}
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			if looksLikeURL(v) {
				return errors.New("query must not carry another URL (an open redirect)")
			}
		}
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkDomain(host string) error {
	host = strings.TrimSuffix(host, ".")
	if host == "googleusercontent.com" || strings.HasSuffix(host, ".googleusercontent.com") {
		return errors.New("host must not be under googleusercontent.com")
	}
	for _, s := range urlShorteners {
		if host == s || strings.HasSuffix(host, "."+s) {
			return errors.New("host must not be a URL shortener")
		}
	}
	labels := strings.Split(host, ".")
	if len(labels) < 2 {
		return errors.New("host must be a fully qualified domain name")
	}
	if _, icann := publicsuffix.PublicSuffix(labels[len(labels)-1]); !icann {
		return errors.New("host's top-level domain must be on the public suffix list")
	}
	if _, err := publicsuffix.EffectiveTLDPlusOne(host); err != nil {
		return errors.New("host must not itself be a public suffix")
	}
	return nil
}

// checkPercentEncoding rejects malformed escapes and encoded NULs (including
// the overlong UTF-8 form %C0%80).
func checkPercentEncoding(raw string) error {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '%' {
			continue
		}
		if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
			return errors.New("contains invalid percent-encoding")
		}
	}
	l := strings.ToLower(raw)
	if strings.Contains(l, "%00") || strings.Contains(l, "%c0%80") {
		return errors.New("must not contain an encoded NUL")
	}
	return nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// hasTraversal looks for "/.." or "\.." in the URL, decoding percent-escapes
// up to three times so double-encoded forms are caught too.
func hasTraversal(raw string) bool {
	s := raw
	for range 4 {
		l := strings.ToLower(s)
		if strings.Contains(l, "/..") || strings.Contains(l, "\\..") {
			return true
		}
		d, err := url.PathUnescape(s)
		if err != nil || d == s {
			return false
		}
		s = d
	}
	return false
}

func looksLikeURL(v string) bool {
	l := strings.ToLower(strings.TrimSpace(v))
	return strings.Contains(l, "://") || strings.HasPrefix(l, "//") || strings.HasPrefix(l, "\\\\") ||
		strings.HasPrefix(l, "javascript:") || strings.HasPrefix(l, "data:")
}
