package phi

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/eonpro/eonpro/awsconf"
)

// KMSMaster is a master key in AWS KMS: data keys are wrapped by KMS
// Encrypt and unwrapped by KMS Decrypt, with the key context as KMS
// encryption context, so CloudTrail records which clinic and key version
// every unwrap was for, and a key policy can restrict them.
type KMSMaster struct {
	client *kms.Client
	keyID  string
}

// NewKMSMaster returns the master key keyID (a key id, ARN or alias) of
// client.
func NewKMSMaster(client *kms.Client, keyID string) *KMSMaster {
	return &KMSMaster{client: client, keyID: keyID}
}

// NewKMSClient returns a KMS client with the SDK's default credential chain
// (environment, shared config, web identity, instance role). region may be
// empty for the SDK's default; endpoint overrides the service address (a
// local KMS in tests).
func NewKMSClient(ctx context.Context, region, endpoint string) (*kms.Client, error) {
	cfg, err := awsconf.Load(ctx, region)
	if err != nil {
		return nil, err
	}
	return kms.NewFromConfig(cfg, func(o *kms.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}

// ID implements MasterKey.
func (m *KMSMaster) ID() string { return "kms:" + m.keyID }

// Wrap implements MasterKey with KMS Encrypt.
func (m *KMSMaster) Wrap(ctx context.Context, key []byte, kc KeyContext) ([]byte, error) {
	out, err := m.client.Encrypt(ctx, &kms.EncryptInput{
		KeyId:             aws.String(m.keyID),
		Plaintext:         key,
		EncryptionContext: kc.pairs(),
	})
	if err != nil {
		return nil, fmt.Errorf("kms encrypt: %w", err)
	}
	return out.CiphertextBlob, nil
}

// Unwrap implements MasterKey with KMS Decrypt. Naming the key makes KMS
// refuse a blob made under any other key.
func (m *KMSMaster) Unwrap(ctx context.Context, wrapped []byte, kc KeyContext) ([]byte, error) {
	out, err := m.client.Decrypt(ctx, &kms.DecryptInput{
		KeyId:             aws.String(m.keyID),
		CiphertextBlob:    wrapped,
		EncryptionContext: kc.pairs(),
	})
	if err != nil {
		return nil, fmt.Errorf("kms decrypt: %w", err)
	}
	return out.Plaintext, nil
}
