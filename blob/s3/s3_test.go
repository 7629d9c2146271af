package s3_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/blob/blobtest"
	"github.com/eonpro/eonpro/blob/s3"
)

// fake serves an in-process S3 with one bucket and returns the store on
// it, built as the server builds it (NewClient, default credential chain).
func fake(t *testing.T) (*s3.Store, *s3mem.Backend) {
	t.Helper()
	client, backend := fakeClient(t, "eonpro-docs", nil)
	return s3.New(client, "eonpro-docs"), backend
}

// fakeClient serves an in-process S3 with bucket, its handler wrapped by
// wrap when not nil, and returns a client of it.
func fakeClient(t *testing.T, bucket string, wrap func(http.Handler) http.Handler) (*s3sdk.Client, *s3mem.Backend) {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	h := gofakes3.New(backend).Server()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	client, err := s3.NewClient(context.Background(), "us-east-1", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return client, backend
}

func TestConformance(t *testing.T) {
	store, _ := fake(t)
	blobtest.Run(t, store)
}

// TestObjectNamedByKey: the object is the key, in the bucket, and holds
// exactly what was put.
func TestObjectNamedByKey(t *testing.T) {
	store, backend := fake(t)
	key := eonpro.NewBlobKey()
	if err := store.Put(context.Background(), key, strings.NewReader("v1:1:sealed")); err != nil {
		t.Fatal(err)
	}
	obj, err := backend.HeadObject("eonpro-docs", key)
	if err != nil || obj.Size != int64(len("v1:1:sealed")) {
		t.Fatalf("HeadObject = %+v, %v", obj, err)
	}
}

func TestErrNoBucket(t *testing.T) {
	store, backend := fake(t)
	if err := backend.ForceDeleteBucket("eonpro-docs"); err != nil {
		t.Fatal(err)
	}
	err := store.Put(context.Background(), eonpro.NewBlobKey(), strings.NewReader("x"))
	if err == nil || eonpro.ErrorCode(err) != eonpro.EINTERNAL {
		t.Errorf("Put into a missing bucket = %v, want an internal error", err)
	}
	if _, err := store.Get(context.Background(), eonpro.NewBlobKey()); eonpro.ErrorCode(err) == eonpro.ENOTFOUND {
		t.Errorf("Get from a missing bucket = %v: a missing bucket must not pass for a missing document", err)
	}
}
