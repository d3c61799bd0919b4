package receiver

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"math/big"
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

// rawSign is the RSA private operation on em, with no padding: the
// signature a transmitter would send whose public operation yields em.
func rawSign(k *rsa.PrivateKey, em []byte) []byte {
	c := new(big.Int).SetBytes(em)
	p, q := k.Primes[0], k.Primes[1]
	m1 := new(big.Int).Exp(c, k.Precomputed.Dp, p)
	m2 := new(big.Int).Exp(c, k.Precomputed.Dq, q)
	h := m1.Sub(m1, m2)
	h.Mul(h, k.Precomputed.Qinv).Mod(h, p)
	m := h.Mul(h, q).Add(h, m2)
	return m.FillBytes(make([]byte, k.Size()))
}

// verdicts returns whether crypto/rsa and pkcs1v15 accept sig over msg.
func verdicts(t testing.TB, alg string, k *rsa.PublicKey, msg, sig []byte) (std, ours bool) {
	t.Helper()
	p := pkcs1v15Algs[alg]
	h := p.hash.New()
	h.Write(msg)
	std = rsa.VerifyPKCS1v15(k, p.hash, h.Sum(nil), sig) == nil
	rk, err := newRSAKey(k)
	if err != nil {
		t.Fatalf("newRSAKey: %v", err)
	}
	ours = p.verify(rk, msg, sig) == nil
	return std, ours
}

func TestPKCS1v15AgreesWithCryptoRSA(t *testing.T) {
	msg := []byte("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FjY291bnRzLmdvb2dsZS5jb20ifQ")
	cases := 0
	for _, k := range rsaTestKeys() {
		for alg, p := range pkcs1v15Algs {
			h := p.hash.New()
			h.Write(msg)
			sig, err := rsa.SignPKCS1v15(rand.Reader, k, p.hash, h.Sum(nil))
			if err != nil {
				t.Fatal(err)
			}
			n := k.N.Bytes()
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
				{"equal to n", msg, n, false},
				{"all ones (above n)", msg, bytes.Repeat([]byte{0xff}, len(sig)), false},
			}
			for other, op := range pkcs1v15Algs {
				if other == alg {
					continue
				}
				oh := op.hash.New()
				oh.Write(msg)
				osig, err := rsa.SignPKCS1v15(rand.Reader, k, op.hash, oh.Sum(nil))
				if err != nil {
					t.Fatal(err)
				}
				tcs = append(tcs, tc{"signed as " + other, msg, osig, false})
			}
			for _, c := range tcs {
				std, ours := verdicts(t, alg, &k.PublicKey, c.msg, c.sig)
				if std != c.ok || ours != c.ok {
					t.Errorf("%d bits %s %s: crypto/rsa %v, pkcs1v15 %v, want %v", k.N.BitLen(), alg, c.name, std, ours, c.ok)
				}
				cases++
			}
		}
	}
	t.Logf("%d cases", cases)
}

// TestPKCS1v15RefusesMalformedEncodings signs encoded messages that are
// wrong in one way each (the forgeries lenient PKCS#1 v1.5 parsers have
// accepted) and checks both verifiers refuse them, and that the correct
// encoding, signed the same way, is accepted.
func TestPKCS1v15RefusesMalformedEncodings(t *testing.T) {
	msg := []byte("header.payload")
	noNull := []byte{0x30, 0x2f, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x04, 0x20}
	for _, k := range rsaTestKeys() {
		p := pkcs1v15Algs["RS256"]
		good, ok := p.encode(msg, k.Size())
		if !ok {
			t.Fatal("encode refused the key size")
		}
		digest := good[len(good)-32:]
		psEnd := k.Size() - len(p.prefix) - 32 - 1 // index of the 0x00 separator
		with := func(f func(em []byte) []byte) []byte { return f(bytes.Clone(good)) }
		// build lays out 0x00 0x01, ps 0xff octets, 0x00, t, padded or cut
		// to k octets at the end.
		build := func(ps int, tail []byte) []byte {
			em := append([]byte{0, 1}, bytes.Repeat([]byte{0xff}, ps)...)
			em = append(append(em, 0), tail...)
			if len(em) > k.Size() {
				return em[:k.Size()]
			}
			return append(em, make([]byte, k.Size()-len(em))...)
		}
		tail := append(bytes.Clone(p.prefix), digest...)
		cases := []struct {
			name string
			em   []byte
			ok   bool
		}{
			{"well formed", good, true},
			{"first octet 1", with(func(em []byte) []byte { em[0] = 1; return em }), false},
			{"block type 2", with(func(em []byte) []byte { em[1] = 2; return em }), false},
			{"block type 0", with(func(em []byte) []byte { em[1] = 0; return em }), false},
			{"padding octet 0xfe", with(func(em []byte) []byte { em[5] = 0xfe; return em }), false},
			{"no separator", with(func(em []byte) []byte { em[psEnd] = 0xff; return em }), false},
			{"digest then garbage (short padding)", build(8, append(bytes.Clone(tail), bytes.Repeat([]byte{0x41}, 64)...)), false},
			{"padding too short", build(7, append([]byte{0x55}, tail...)), false},
			{"DigestInfo without NULL", build(k.Size()-3-len(noNull)-32, append(bytes.Clone(noNull), digest...)), false},
			{"SHA-384 DigestInfo, SHA-256 digest", build(k.Size()-3-len(pkcs1v15Algs["RS384"].prefix)-32, append(bytes.Clone(pkcs1v15Algs["RS384"].prefix), digest...)), false},
			{"digest of something else", with(func(em []byte) []byte { em[len(em)-1] ^= 1; return em }), false},
			{"no DigestInfo", build(k.Size()-3-32, digest), false},
		}
		for _, c := range cases {
			if len(c.em) != k.Size() {
				t.Fatalf("%s: em is %d octets, want %d", c.name, len(c.em), k.Size())
			}
			sig := rawSign(k, c.em)
			std, ours := verdicts(t, "RS256", &k.PublicKey, msg, sig)
			if std != c.ok || ours != c.ok {
				t.Errorf("%d bits %s: crypto/rsa %v, pkcs1v15 %v, want %v", k.N.BitLen(), c.name, std, ours, c.ok)
			}
		}
	}
}

func TestNewRSAKeyRefusesWhatCryptoRSARefuses(t *testing.T) {
	k := rsaTestKeys()[0]
	even := new(big.Int).Add(k.N, big.NewInt(1))
	huge := 1 << 31
	for _, c := range []struct {
		name string
		pub  *rsa.PublicKey
	}{
		{"nil modulus", &rsa.PublicKey{E: 65537}},
		{"even modulus", &rsa.PublicKey{N: even, E: 65537}},
		{"zero modulus", &rsa.PublicKey{N: new(big.Int), E: 65537}},
		{"exponent 1", &rsa.PublicKey{N: k.N, E: 1}},
		{"exponent 2", &rsa.PublicKey{N: k.N, E: 2}},
		{"even exponent", &rsa.PublicKey{N: k.N, E: 65538}},
		{"exponent 2^31", &rsa.PublicKey{N: k.N, E: huge}},
		{"negative exponent", &rsa.PublicKey{N: k.N, E: -65537}},
	} {
		if _, err := newRSAKey(c.pub); err == nil {
			t.Errorf("%s: newRSAKey accepted it", c.name)
		}
		sig := make([]byte, k.Size())
		sig[len(sig)-1] = 2
		if c.pub.N != nil && rsa.VerifyPKCS1v15(c.pub, crypto.SHA256, make([]byte, 32), sig) == nil {
			t.Errorf("%s: crypto/rsa accepted a signature", c.name)
		}
	}
	for _, e := range []int{3, 65537, 1<<31 - 1} {
		if _, err := newRSAKey(&rsa.PublicKey{N: k.N, E: e}); err != nil {
			t.Errorf("exponent %d: %v", e, err)
		}
	}
}

// FuzzPKCS1v15 signs an arbitrary encoded message with the raw private
// operation and checks pkcs1v15 and crypto/rsa give the same verdict on it
// for every algorithm, and on the fuzzed octets taken as the signature.
func FuzzPKCS1v15(f *testing.F) {
	k := rsaTestKeys()[0]
	msg := []byte("h.p")
	for _, p := range pkcs1v15Algs {
		em, _ := p.encode(msg, k.Size())
		f.Add(em, msg)
	}
	f.Add([]byte{0, 1, 0xff, 0}, msg)
	f.Fuzz(func(t *testing.T, em, msg []byte) {
		if len(em) > k.Size() {
			em = em[:k.Size()]
		}
		em = append(make([]byte, k.Size()-len(em)), em...)
		if new(big.Int).SetBytes(em).Cmp(k.N) >= 0 {
			em[0] = 0
		}
		sig := rawSign(k, em)
		for alg := range pkcs1v15Algs {
			for _, s := range [][]byte{sig, em} {
				if std, ours := verdicts(t, alg, &k.PublicKey, msg, s); std != ours {
					t.Fatalf("%s em %x: crypto/rsa %v, pkcs1v15 %v", alg, em, std, ours)
				}
			}
		}
	})
}

// BenchmarkRS256 compares one 2048-bit RS256 verification with a prepared
// rsaKey to crypto/rsa's.
func BenchmarkRS256(b *testing.B) {
	k := rsaTestKeys()[0]
	p := pkcs1v15Algs["RS256"]
	msg := []byte("header.payload")
	h := p.hash.New()
	h.Write(msg)
	digest := h.Sum(nil)
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, p.hash, digest)
	if err != nil {
		b.Fatal(err)
	}
	rk, err := newRSAKey(&k.PublicKey)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		verify func() error
	}{
		{"pkcs1v15", func() error { return p.verify(rk, msg, sig) }},
		{"crypto-rsa", func() error {
			h := p.hash.New()
			h.Write(msg)
			return rsa.VerifyPKCS1v15(&k.PublicKey, p.hash, h.Sum(nil), sig)
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.verify(); err != nil {
					b.Fatalf("verify: %v", err)
				}
			}
		})
	}
}

// TestRSAKeysVerifyThroughPKCS1v15 checks the wiring: an RSA key from a key
// set is prepared when converted, RS* verifiers use it, and other
// algorithms still verify through jwx.
func TestRSAKeysVerifyThroughPKCS1v15(t *testing.T) {
	k := rsaTestKeys()[0]
	jk, err := jwk.FromRaw(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := jk.Set(jwk.KeyIDKey, "k1"); err != nil {
		t.Fatal(err)
	}
	vk, ok := convertKey(jk)
	if !ok || vk.rsa == nil {
		t.Fatalf("convertKey: ok %v, prepared %v", ok, vk.rsa != nil)
	}
	vs, err := newVerifiers([]string{"RS256", "RS512", "PS256"})
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("h.p")
	for alg, v := range vs {
		if (v.pkcs1 != nil) != (alg != "PS256") {
			t.Errorf("%s: pkcs1 set %v", alg, v.pkcs1 != nil)
		}
		h := crypto.SHA256
		if alg == "RS512" {
			h = crypto.SHA512
		}
		d := h.New()
		d.Write(msg)
		var sig []byte
		if alg == "PS256" {
			sig, err = rsa.SignPSS(rand.Reader, k, h, d.Sum(nil), nil)
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, k, h, d.Sum(nil))
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := v.check(msg, sig, vk); err != nil {
			t.Errorf("%s: valid signature refused: %v", alg, err)
		}
		if err := v.check([]byte("h.q"), sig, vk); err == nil {
			t.Errorf("%s: signature over another message accepted", alg)
		}
		// Without the raw key only the prepared one can verify: RS* must
		// take the pkcs1v15 path, PS256 (jwx) must fail.
		prepared := verifyKey{rsa: vk.rsa}
		if err := v.check(msg, sig, prepared); (err == nil) != (v.pkcs1 != nil) {
			t.Errorf("%s: with only the prepared key, check error = %v", alg, err)
		}
	}
}
