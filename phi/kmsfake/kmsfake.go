// Package kmsfake is an in-process fake of the AWS KMS JSON API for tests:
// an HTTP server speaking the real wire protocol (POST / with X-Amz-Target
// TrentService.<Operation>, application/x-amz-json-1.1 bodies, base64
// blobs, SigV4-signed requests), so the real aws-sdk-go-v2 client runs
// against it unchanged. It implements Encrypt, Decrypt and GenerateDataKey
// for symmetric keys, honouring encryption context and disabled keys.
package kmsfake

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/google/uuid"
)

// Region and Account are what the fake's key ARNs name.
const (
	Region  = "us-east-1"
	Account = "111122223333"
)

// Server is a running fake KMS. Close it when done.
type Server struct {
	*httptest.Server

	mu    sync.Mutex
	keys  map[string]*key // by ARN
	calls map[string]int  // by operation
}

type key struct {
	arn      string
	aead     cipher.AEAD
	disabled bool
}

// New starts a fake KMS with no keys.
func New() *Server {
	s := &Server{keys: map[string]*key{}, calls: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// NewKey makes a symmetric key and returns its ARN.
func (s *Server) NewKey() string {
	material := make([]byte, 32)
	_, _ = rand.Read(material)
	block, _ := aes.NewCipher(material)
	aead, _ := cipher.NewGCM(block)
	arn := fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", Region, Account, uuid.NewString())
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[arn] = &key{arn: arn, aead: aead}
	return arn
}

// DisableKey makes every later request naming the key fail with
// DisabledException, as when an operator disables a KMS key.
func (s *Server) DisableKey(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.lookup(id); k != nil {
		k.disabled = true
	}
}

// Calls returns how many requests of the operation (such as "Decrypt")
// the fake has answered.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Client returns an SDK client pointed at the fake with static test
// credentials in us-east-1.
func (s *Server) Client() *kms.Client {
	return kms.New(kms.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDFAKEKMS", "fake-secret", ""),
	})
}

// lookup finds a key by ARN or bare key id. The caller holds s.mu.
func (s *Server) lookup(id string) *key {
	if k, ok := s.keys[id]; ok {
		return k
	}
	for arn, k := range s.keys {
		if strings.HasSuffix(arn, ":key/"+id) {
			return k
		}
	}
	return nil
}

// apiError is an error of the KMS API: its type is the exception name.
type apiError struct {
	Type    string
	Message string
	Status  int
}

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

func fail(typ, format string, args ...any) *apiError {
	return &apiError{Type: typ, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	op, err := checkProtocol(r)
	if err == nil {
		s.mu.Lock()
		s.calls[op]++
		s.mu.Unlock()
		var out any
		out, err = s.dispatch(op, r)
		if err == nil {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.Header().Set("X-Amzn-RequestId", uuid.NewString())
			_ = json.NewEncoder(w).Encode(out)
			return
		}
	}
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{Type: "KMSInternalException", Message: err.Error(), Status: http.StatusInternalServerError}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", uuid.NewString())
	w.WriteHeader(ae.Status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": ae.Type, "message": ae.Message})
}

// checkProtocol rejects requests the real service would, before reading
// the body: wrong method, path, content type, target or signature scheme.
func checkProtocol(r *http.Request) (string, error) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return "", &apiError{Type: "UnknownOperationException", Message: r.Method + " " + r.URL.Path, Status: http.StatusNotFound}
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		return "", fail("SerializationException", "content type %q", ct)
	}
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=") || !strings.Contains(auth, "/"+Region+"/kms/aws4_request") {
		return "", &apiError{Type: "MissingAuthenticationTokenException", Message: "request is not SigV4-signed for kms in " + Region, Status: http.StatusForbidden}
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
	if !ok {
		return "", fail("UnknownOperationException", "target %q", r.Header.Get("X-Amz-Target"))
	}
	return op, nil
}

func (s *Server) dispatch(op string, r *http.Request) (any, error) {
	var in request
	if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20)).Decode(&in); err != nil {
		return nil, fail("SerializationException", "body: %v", err)
	}
	switch op {
	case "Encrypt":
		return s.encrypt(in)
	case "Decrypt":
		return s.decrypt(in)
	case "GenerateDataKey":
		return s.generateDataKey(in)
	}
	return nil, fail("UnknownOperationException", "operation %s is not faked", op)
}

// request holds the fields of every faked operation; []byte fields are
// base64 in JSON, as on the wire.
type request struct {
	KeyID             string            `json:"KeyId"`
	Plaintext         []byte            `json:"Plaintext"`
	CiphertextBlob    []byte            `json:"CiphertextBlob"`
	EncryptionContext map[string]string `json:"EncryptionContext"`
	KeySpec           string            `json:"KeySpec"`
	NumberOfBytes     int               `json:"NumberOfBytes"`
}

type response struct {
	KeyID               string `json:"KeyId"`
	CiphertextBlob      []byte `json:"CiphertextBlob,omitempty"`
	Plaintext           []byte `json:"Plaintext,omitempty"`
	EncryptionAlgorithm string `json:"EncryptionAlgorithm,omitempty"`
}

// usable returns the named key, or the exception KMS would answer.
func (s *Server) usable(id string) (*key, error) {
	if id == "" {
		return nil, fail("ValidationException", "KeyId is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.lookup(id)
	if k == nil {
		return nil, fail("NotFoundException", "Key '%s' does not exist", id)
	}
	if k.disabled {
		return nil, fail("DisabledException", "%s is disabled.", k.arn)
	}
	return k, nil
}

// contextAAD is a canonical encoding of an encryption context: sorted,
// length-prefixed pairs.
func contextAAD(ec map[string]string) []byte {
	names := make([]string, 0, len(ec))
	for n := range ec {
		names = append(names, n)
	}
	sort.Strings(names)
	var b []byte
	for _, n := range names {
		for _, f := range []string{n, ec[n]} {
			b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
			b = append(b, f...)
		}
	}
	return b
}

// blob is the fake's ciphertext: the key ARN, then nonce|ciphertext|tag.
func (k *key) blob(plain []byte, ec map[string]string) []byte {
	b := binary.BigEndian.AppendUint16([]byte("FAKEKMS1"), uint16(len(k.arn)))
	b = append(b, k.arn...)
	nonce := make([]byte, k.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return k.aead.Seal(append(b, nonce...), nonce, plain, contextAAD(ec))
}

func (s *Server) encrypt(in request) (any, error) {
	k, err := s.usable(in.KeyID)
	if err != nil {
		return nil, err
	}
	if len(in.Plaintext) == 0 || len(in.Plaintext) > 4096 {
		return nil, fail("ValidationException", "Plaintext must be 1 to 4096 bytes")
	}
	return response{KeyID: k.arn, CiphertextBlob: k.blob(in.Plaintext, in.EncryptionContext), EncryptionAlgorithm: "SYMMETRIC_DEFAULT"}, nil
}

func (s *Server) decrypt(in request) (any, error) {
	b, ok := bytes.CutPrefix(in.CiphertextBlob, []byte("FAKEKMS1"))
	if !ok || len(b) < 2 || len(b) < 2+int(binary.BigEndian.Uint16(b)) {
		return nil, fail("InvalidCiphertextException", "")
	}
	n := int(binary.BigEndian.Uint16(b))
	arn, sealed := string(b[2:2+n]), b[2+n:]
	k, err := s.usable(arn)
	if err != nil {
		return nil, err
	}
	if in.KeyID != "" {
		if named, err := s.usable(in.KeyID); err != nil {
			return nil, err
		} else if named != k {
			return nil, fail("IncorrectKeyException", "The key ID in the request does not identify a CMK that can perform this operation.")
		}
	}
	ns := k.aead.NonceSize()
	if len(sealed) < ns {
		return nil, fail("InvalidCiphertextException", "")
	}
	plain, err := k.aead.Open(nil, sealed[:ns], sealed[ns:], contextAAD(in.EncryptionContext))
	if err != nil {
		return nil, fail("InvalidCiphertextException", "")
	}
	return response{KeyID: k.arn, Plaintext: plain, EncryptionAlgorithm: "SYMMETRIC_DEFAULT"}, nil
}

func (s *Server) generateDataKey(in request) (any, error) {
	k, err := s.usable(in.KeyID)
	if err != nil {
		return nil, err
	}
	size := in.NumberOfBytes
	switch {
	case in.KeySpec == "AES_256" && size == 0:
		size = 32
	case in.KeySpec == "AES_128" && size == 0:
		size = 16
	case in.KeySpec != "" || size < 1 || size > 1024:
		return nil, fail("ValidationException", "give KeySpec AES_256 or AES_128, or NumberOfBytes 1 to 1024")
	}
	plain := make([]byte, size)
	_, _ = rand.Read(plain)
	return response{KeyID: k.arn, Plaintext: plain, CiphertextBlob: k.blob(plain, in.EncryptionContext)}, nil
}
