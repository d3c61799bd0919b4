package googlesim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/url"
)

// serviceAccount is the project's service account that may manage the
// stream.
type serviceAccount struct {
	email    string
	keyID    string
	clientID string
	key      *rsa.PrivateKey
}

// serviceAccount returns the project's service account, generating its key
// on first use when Config.ServiceAccountKey is nil.
func (s *Server) serviceAccount() (*serviceAccount, error) {
	st := &s.stream
	st.saMu.Lock()
	defer st.saMu.Unlock()
	if st.sa != nil {
		return st.sa, nil
	}
	key := s.cfg.ServiceAccountKey
	if key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("googlesim: service account key: %w", err)
		}
		key = k
	}
	st.sa = &serviceAccount{
		email:    s.cfg.ServiceAccountEmail,
		keyID:    randomHex(20),
		clientID: "1" + randomDigits(20),
		key:      key,
	}
	return st.sa, nil
}

// serviceAccountFile is the shape of a service account key file as the
// Google Cloud console downloads it.
type serviceAccountFile struct {
	Type                    string `json:"type"`
	ProjectID               string `json:"project_id"`
	PrivateKeyID            string `json:"private_key_id"`
	PrivateKey              string `json:"private_key"`
	ClientEmail             string `json:"client_email"`
	ClientID                string `json:"client_id"`
	AuthURI                 string `json:"auth_uri"`
	TokenURI                string `json:"token_uri"`
	AuthProviderX509CertURL string `json:"auth_provider_x509_cert_url"`
	ClientX509CertURL       string `json:"client_x509_cert_url"`
	UniverseDomain          string `json:"universe_domain"`
}

// ServiceAccountJSON returns a key file of the project's service account in
// Google's format (type service_account, private_key_id, a PKCS #8
// private_key PEM, client_email, ...), so that
// golang.org/x/oauth2/google.JWTAccessTokenSourceFromJSON signs tokens the
// stream management API accepts. Its URLs point at this server once it
// knows its URL, at Google's before. The file holds a private key: keep it
// out of logs. It panics only if key generation fails, which crypto/rand
// rules out.
func (s *Server) ServiceAccountJSON() []byte {
	sa, err := s.serviceAccount()
	if err != nil {
		panic(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(sa.key)
	if err != nil {
		panic(fmt.Sprintf("googlesim: marshal service account key: %v", err)) // cannot happen for *rsa.PrivateKey
	}
	base := s.URL()
	authURI, tokenURI, certs := "https://accounts.google.com/o/oauth2/auth", "https://oauth2.googleapis.com/token", "https://www.googleapis.com/oauth2/v1/certs"
	robot := "https://www.googleapis.com/robot/v1/metadata/x509/"
	if base != "" {
		authURI, tokenURI, certs, robot = base+PathAuthorize, base+PathToken, base+PathJWKS, base+"/robot/v1/metadata/x509/"
	}
	b, err := json.MarshalIndent(serviceAccountFile{
		Type:                    "service_account",
		ProjectID:               s.cfg.ProjectID,
		PrivateKeyID:            sa.keyID,
		PrivateKey:              string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		ClientEmail:             sa.email,
		ClientID:                sa.clientID,
		AuthURI:                 authURI,
		TokenURI:                tokenURI,
		AuthProviderX509CertURL: certs,
		ClientX509CertURL:       robot + url.PathEscape(sa.email),
		UniverseDomain:          "googleapis.com",
	}, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("googlesim: marshal service account file: %v", err)) // plain strings always marshal
	}
	return b
}

// ServiceAccountEmail returns the email of the project's service account.
func (s *Server) ServiceAccountEmail() string { return s.cfg.ServiceAccountEmail }

// randomDigits returns n random decimal digits.
func randomDigits(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}
