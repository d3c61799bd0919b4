package receiver

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	_ "crypto/sha256" // crypto.SHA256.New
	_ "crypto/sha512" // crypto.SHA384.New, crypto.SHA512.New
	"errors"

	"filippo.io/bigmod"
)

// RS256, RS384 and RS512 (RSASSA-PKCS1-v1_5, RFC 7518 §3.3) are verified
// here rather than through jwx and crypto/rsa, with the same arithmetic:
// filippo.io/bigmod is the package crypto/rsa is built on, exported.
// crypto/rsa rebuilds the modulus's Montgomery constants on every call,
// which is 19 µs of its 44 µs per 2048-bit verification on the benchmark
// machine; an rsaKey builds them once, when its key set is loaded. The
// check itself is RFC 8017 §8.2.2 as crypto/rsa does it: the signature is
// exactly k octets and less than n, and the whole encoded message must equal
// the one built from the digest (EMSA-PKCS1-v1_5 encode and compare, no
// parsing of what the signature decrypts to). Tests compare every verdict
// with crypto/rsa's.

// errRSAVerification: the signature does not verify.
var errRSAVerification = errors.New("receiver: rsa verification error")

// rsaKey is an RSA public key with its modulus prepared for verification.
type rsaKey struct {
	n *bigmod.Modulus
	e uint
	k int // the modulus's length in octets
}

// newRSAKey prepares pub, refusing what crypto/rsa refuses: a missing or
// even modulus, an exponent that is even, below 3 or above 2³¹-1.
func newRSAKey(pub *rsa.PublicKey) (*rsaKey, error) {
	if pub == nil || pub.N == nil || pub.N.Sign() <= 0 || pub.N.Bit(0) == 0 {
		return nil, errors.New("receiver: rsa modulus missing or even")
	}
	if pub.E < 3 || pub.E&1 == 0 || pub.E > 1<<31-1 {
		return nil, errors.New("receiver: rsa public exponent out of range or even")
	}
	n, err := bigmod.NewModulus(pub.N.Bytes())
	if err != nil {
		return nil, err
	}
	return &rsaKey{n: n, e: uint(pub.E), k: n.Size()}, nil
}

// pkcs1v15 verifies RSASSA-PKCS1-v1_5 signatures with one hash.
type pkcs1v15 struct {
	hash   crypto.Hash
	prefix []byte // the DER DigestInfo before the digest (RFC 8017 §9.2 note 1)
}

// pkcs1v15Algs are the JWS algorithms pkcs1v15 verifies.
var pkcs1v15Algs = map[string]*pkcs1v15{
	"RS256": {crypto.SHA256, []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}},
	"RS384": {crypto.SHA384, []byte{0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30}},
	"RS512": {crypto.SHA512, []byte{0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40}},
}

// verify checks sig over msg under key.
func (p *pkcs1v15) verify(key *rsaKey, msg, sig []byte) error {
	if len(sig) != key.k {
		return errRSAVerification
	}
	s, err := bigmod.NewNat().SetBytes(sig, key.n)
	if err != nil { // s >= n
		return errRSAVerification
	}
	em := bigmod.NewNat().ExpShortVarTime(s, key.e, key.n).Bytes(key.n)
	want, ok := p.encode(msg, key.k)
	if !ok || !bytes.Equal(em, want) {
		return errRSAVerification
	}
	return nil
}

// encode is EMSA-PKCS1-v1_5 (RFC 8017 §9.2) of msg for a k-octet modulus:
// 0x00 0x01 PS 0x00 DigestInfo, PS being at least eight 0xff octets. It
// reports false when k is too short for the hash.
func (p *pkcs1v15) encode(msg []byte, k int) ([]byte, bool) {
	h := p.hash.New()
	h.Write(msg)
	tLen := len(p.prefix) + p.hash.Size()
	if k < tLen+11 {
		return nil, false
	}
	em := make([]byte, k-tLen, k)
	em[1] = 0x01
	for i := 2; i < len(em)-1; i++ {
		em[i] = 0xff
	}
	em = append(em, p.prefix...)
	return h.Sum(em), true
}
