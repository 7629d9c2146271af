package kmsfake_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/eonpro/eonpro/phi/kmsfake"
)

func TestGenerateDataKeyThenDecrypt(t *testing.T) {
	fake := kmsfake.New()
	defer fake.Close()
	keyID := fake.NewKey()
	c := fake.Client()
	ctx := context.Background()
	ec := map[string]string{"clinic": "a"}
	gen, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(keyID), KeySpec: types.DataKeySpecAes256, EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	if len(gen.Plaintext) != 32 || aws.ToString(gen.KeyId) != keyID {
		t.Fatalf("GenerateDataKey = %d bytes under %q", len(gen.Plaintext), aws.ToString(gen.KeyId))
	}
	// Decrypt without a KeyId: the blob names its key, as in real KMS.
	dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob, EncryptionContext: ec})
	if err != nil || !bytes.Equal(dec.Plaintext, gen.Plaintext) {
		t.Fatalf("Decrypt = %x, %v", dec.Plaintext, err)
	}
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob})
	var ic *types.InvalidCiphertextException
	if !errors.As(err, &ic) {
		t.Errorf("Decrypt without the encryption context = %v, want InvalidCiphertextException", err)
	}
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("arn:aws:kms:us-east-1:111122223333:key/none"), Plaintext: []byte("x")})
	var nf *types.NotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("Encrypt under an unknown key = %v, want NotFoundException", err)
	}
	if fake.Calls("GenerateDataKey") != 1 || fake.Calls("Decrypt") != 2 {
		t.Errorf("calls: GenerateDataKey %d, Decrypt %d", fake.Calls("GenerateDataKey"), fake.Calls("Decrypt"))
	}
}

func TestProtocolChecks(t *testing.T) {
	fake := kmsfake.New()
	defer fake.Close()
	signed := "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00"
	for _, tt := range []struct {
		name, method, path, ctype, target, auth string
		want                                    int
		wantType                                string
	}{
		{"ErrGet", "GET", "/", "application/x-amz-json-1.1", "TrentService.Encrypt", signed, 404, "UnknownOperationException"},
		{"ErrContentType", "POST", "/", "application/json", "TrentService.Encrypt", signed, 400, "SerializationException"},
		{"ErrUnsigned", "POST", "/", "application/x-amz-json-1.1", "TrentService.Encrypt", "", 403, "MissingAuthenticationTokenException"},
		{"ErrTarget", "POST", "/", "application/x-amz-json-1.1", "KMS.Encrypt", signed, 400, "UnknownOperationException"},
		{"ErrOperation", "POST", "/", "application/x-amz-json-1.1", "TrentService.CreateKey", signed, 400, "UnknownOperationException"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, fake.URL+tt.path, strings.NewReader(`{}`))
			req.Header.Set("Content-Type", tt.ctype)
			req.Header.Set("X-Amz-Target", tt.target)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body bytes.Buffer
			_, _ = body.ReadFrom(res.Body)
			if res.StatusCode != tt.want || !strings.Contains(body.String(), `"__type":"`+tt.wantType+`"`) {
				t.Errorf("got %d %s, want %d %s", res.StatusCode, body.String(), tt.want, tt.wantType)
			}
		})
	}
}
