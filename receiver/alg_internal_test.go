package receiver

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// rsaTestKeys are generated once per process: 2048 bits (Google's size),
// 3072, and an odd size whose top octet is only partly used.
var rsaTestKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	var keys []*rsa.PrivateKey
	for _, bits := range []int{2048, 3072, 2053} {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			panic(err)
		}
		keys = append(keys, k)
	}
	return keys
})

// rsaHashes are the hashes of RS256/384/512 and PS256/384/512 (RFC 7518
// §3.3, §3.5).
var rsaHashes = map[string]crypto.Hash{
	"RS256": crypto.SHA256, "RS384": crypto.SHA384, "RS512": crypto.SHA512,
	"PS256": crypto.SHA256, "PS384": crypto.SHA384, "PS512": crypto.SHA512,
}

// rsaSign signs msg as alg does (RSASSA-PKCS1-v1_5 for RS*, RSASSA-PSS
// with a salt as long as the hash for PS*, RFC 7518 §3.5).
func rsaSign(tb testing.TB, k *rsa.PrivateKey, alg string, msg []byte) []byte {
	tb.Helper()
	h := rsaHashes[alg]
	d := h.New()
	d.Write(msg)
	var sig []byte
	var err error
	if alg[0] == 'P' {
		sig, err = rsa.SignPSS(rand.Reader, k, h, d.Sum(nil), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	} else {
		sig, err = rsa.SignPKCS1v15(rand.Reader, k, h, d.Sum(nil))
	}
	if err != nil {
		tb.Fatal(err)
	}
	return sig
}

// TestRSAVerifiers checks every RSA verifier against signatures made with
// crypto/rsa: valid ones pass; another message, a flipped bit, a signature
// one octet short or long, zero, n itself, all ones and a signature made
// with another hash or padding are refused.
func TestRSAVerifiers(t *testing.T) {
	algs := []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	vs, err := newVerifiers(algs)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FjY291bnRzLmdvb2dsZS5jb20ifQ")
	cases := 0
	for _, k := range rsaTestKeys() {
		key := verifyKey{key: &k.PublicKey}
		for _, alg := range algs {
			v := vs[alg]
			if !v.keyFits(key.key) {
				t.Fatalf("%s: a %d-bit key does not fit", alg, k.N.BitLen())
			}
			sig := rsaSign(t, k, alg, msg)
			flip := func(i int, bit byte) []byte { s := bytes.Clone(sig); s[i] ^= bit; return s }
			type tc struct {
				name string
				msg  []byte
				sig  []byte
				ok   bool
			}
			tcs := []tc{
				{"valid", msg, sig, true},
				{"other message", append(bytes.Clone(msg), 'x'), sig, false},
				{"first bit flipped", msg, flip(0, 0x80), false},
				{"last bit flipped", msg, flip(len(sig)-1, 1), false},
				{"middle octet flipped", msg, flip(len(sig)/2, 0xff), false},
				{"one octet short", msg, sig[1:], false},
				{"leading zero added", msg, append([]byte{0}, sig...), false},
				{"trailing zero added", msg, append(bytes.Clone(sig), 0), false},
				{"empty", msg, nil, false},
				{"zero", msg, make([]byte, len(sig)), false},
				{"one", msg, append(make([]byte, len(sig)-1), 1), false},
				{"equal to n", msg, k.N.FillBytes(make([]byte, len(sig))), false},
				{"all ones (above n)", msg, bytes.Repeat([]byte{0xff}, len(sig)), false},
			}
			for _, other := range algs {
				if other != alg {
					tcs = append(tcs, tc{"signed as " + other, msg, rsaSign(t, k, other, msg), false})
				}
			}
			for _, c := range tcs {
				err := v.check(c.msg, c.sig, key)
				if (err == nil) != c.ok {
					t.Errorf("%d bits %s %s: check error %v, want ok %v", k.N.BitLen(), alg, c.name, err, c.ok)
				}
				cases++
			}
		}
	}
	t.Logf("%d cases", cases)
}

// TestRSAKeyPolicy checks which keys the RSA algorithms take: RSA keys of
// at least minRSABits, nothing smaller, no other kind of key.
func TestRSAKeyPolicy(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1536)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := newVerifiers([]string{"RS256", "PS256"})
	if err != nil {
		t.Fatal(err)
	}
	for alg, v := range vs {
		for _, c := range []struct {
			name string
			key  any
			fits bool
		}{
			{"2048 bits", &rsaTestKeys()[0].PublicKey, true},
			{"2053 bits", &rsaTestKeys()[2].PublicKey, true},
			{"1536 bits", &small.PublicKey, false},
			{"modulus missing", &rsa.PublicKey{E: 65537}, false},
			{"P-256", &ec.PublicKey, false},
		} {
			if got := v.keyFits(c.key); got != c.fits {
				t.Errorf("%s, %s: keyFits = %v, want %v", alg, c.name, got, c.fits)
			}
		}
		// A key set offering only the small key has no usable key.
		if usable(vs, verifyKey{key: &small.PublicKey}) {
			t.Errorf("%s: a 1536-bit key is usable", alg)
		}
	}
}

// TestRSAKeysFromKeySet checks the wiring from a JWK to a verification: the
// raw key convertKey returns verifies RS256 and PS256 signatures.
func TestRSAKeysFromKeySet(t *testing.T) {
	k := rsaTestKeys()[0]
	jk, err := jwk.FromRaw(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := jk.Set(jwk.KeyIDKey, "k1"); err != nil {
		t.Fatal(err)
	}
	vk, ok := convertKey(jk)
	if !ok {
		t.Fatal("convertKey refused an RSA key")
	}
	vs, err := newVerifiers([]string{"RS256", "PS256"})
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("h.p")
	for alg, v := range vs {
		if !usable(vs, vk) || !v.keyFits(vk.key) {
			t.Fatalf("%s: key from the set not usable", alg)
		}
		if err := v.check(msg, rsaSign(t, k, alg, msg), vk); err != nil {
			t.Errorf("%s: valid signature refused: %v", alg, err)
		}
	}
}
