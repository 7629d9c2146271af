package main

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

func TestBlobConfig(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"OKS3", map[string]string{"EONPRO_S3_BUCKET": "docs", "EONPRO_S3_ENDPOINT": "http://127.0.0.1:9000"}, ""},
		{"OKBlobDir", map[string]string{"EONPRO_BLOB_DIR": "/var/lib/eonpro/blobs", "EONPRO_MAX_UPLOAD_BYTES": "1048576"}, ""},
		{"ErrMaxUpload", map[string]string{"EONPRO_MAX_UPLOAD_BYTES": "0"}, "EONPRO_MAX_UPLOAD_BYTES"},
		{"ErrMaxUploadHuge", map[string]string{"EONPRO_MAX_UPLOAD_BYTES": "1073741824"}, "EONPRO_MAX_UPLOAD_BYTES"},
		{"ErrBlobSweepInterval", map[string]string{"EONPRO_BLOB_SWEEP_INTERVAL": "30s"}, "EONPRO_BLOB_SWEEP_INTERVAL"},
		{"ErrEndpointAlone", map[string]string{"EONPRO_S3_ENDPOINT": "http://127.0.0.1:9000"}, "EONPRO_S3_BUCKET"},
		{"ErrEndpoint", map[string]string{"EONPRO_S3_BUCKET": "docs", "EONPRO_S3_ENDPOINT": "127.0.0.1:9000"}, "EONPRO_S3_ENDPOINT"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadConfig(env(tt.env), nil)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			if (tt.want == "" && err != nil) || (tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want))) {
				t.Errorf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
}

// s3Fake serves an in-process S3 with the bucket "eonpro-docs" and sets
// the AWS environment for it.
func s3Fake(t *testing.T) (*s3mem.Backend, string) {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("eonpro-docs"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	return backend, srv.URL
}

// TestMainServeDocuments runs the real start-up with each document store
// and sends a document through it.
func TestMainServeDocuments(t *testing.T) {
	t.Run("Local", func(t *testing.T) {
		dataDir := t.TempDir()
		m, base := startMain(t, map[string]string{"EONPRO_DATABASE_URL": sqltest.URL(t, sqlstore.SQLite), "EONPRO_DATA_DIR": dataDir})
		secret := "local " + eonpro.NewID()
		roundTrip(t, m, base, secret)
		dir := filepath.Join(dataDir, "blobs")
		if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
			t.Fatalf("blob directory %s: %v %v, want mode 0700", dir, info, err)
		}
		n := 0
		_ = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				n++
				b, _ := os.ReadFile(path)
				if bytes.Contains(b, []byte(secret)) || info.Mode().Perm() != 0o600 {
					t.Errorf("blob %s: mode %v, holds the plaintext: %v", path, info.Mode().Perm(), bytes.Contains(b, []byte(secret)))
				}
			}
			return err
		})
		if n != 1 {
			t.Errorf("%d blobs, want 1 (the start-up check deletes its own)", n)
		}
	})
	t.Run("S3", func(t *testing.T) {
		backend, url := s3Fake(t)
		m, base := startMain(t, map[string]string{"EONPRO_DATABASE_URL": sqltest.URL(t, sqlstore.SQLite),
			"EONPRO_S3_BUCKET": "eonpro-docs", "EONPRO_S3_ENDPOINT": url, "EONPRO_AWS_REGION": "us-east-1"})
		secret := "s3 " + eonpro.NewID()
		roundTrip(t, m, base, secret)
		list, err := backend.ListBucket("eonpro-docs", nil, gofakes3.ListBucketPage{})
		if err != nil || len(list.Contents) != 1 {
			t.Fatalf("bucket holds %v, %v; want 1 object", list, err)
		}
		obj, err := backend.GetObject("eonpro-docs", list.Contents[0].Key, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Contents.Close()
		if b, _ := io.ReadAll(obj.Contents); bytes.Contains(b, []byte(secret)) || !bytes.HasPrefix(b, []byte("v1:")) {
			t.Errorf("the object is not ciphertext: %q", b[:min(len(b), 40)])
		}
	})
	t.Run("ErrNoBucket", func(t *testing.T) {
		_, url := s3Fake(t)
		m := NewMain()
		m.Getenv, m.Stdout, m.Stderr = env(withDataDir(t, map[string]string{"EONPRO_DATABASE_URL": sqltest.URL(t, sqlstore.SQLite),
			"EONPRO_S3_BUCKET": "missing", "EONPRO_S3_ENDPOINT": url, "EONPRO_AWS_REGION": "us-east-1"})), io.Discard, io.Discard
		if err := m.ParseFlags([]string{"serve", "--addr", "127.0.0.1:0"}); err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if err := m.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "document store does not work") {
			t.Errorf("serve with a missing bucket: %v, want a start-up error", err)
		}
	})
}

// roundTrip makes a clinic, an admin and a patient, uploads a text
// document holding secret over HTTP and downloads it again.
func roundTrip(t *testing.T, m *Main, base, secret string) {
	t.Helper()
	ctx := context.Background()
	clinics := sqlstore.NewClinicService(m.db)
	c, err := clinics.CreateClinic(ctx, "lakeside", "Lakeside")
	if err != nil {
		t.Fatal(err)
	}
	policy := eonpro.DefaultSecurityPolicy()
	policy.MFARoles = nil // a password sign-in is enough here
	if _, err := clinics.UpdateClinic(ctx, c.ID, eonpro.ClinicUpdate{SecurityPolicy: &policy}); err != nil {
		t.Fatal(err)
	}
	users := sqlstore.NewUserService(m.db, sqlstore.NewOutboxNotifier(m.db, m.log), nil)
	u, err := users.CreateUser(ctx, eonpro.NewUser{Email: "admin@lakeside.test", Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	if err := users.AddMembership(ctx, u.ID, c.ID, eonpro.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	p, err := m.patients.CreatePatient(eonpro.NewContextWithPrincipal(ctx, &eonpro.Principal{UserID: u.ID, ClinicID: c.ID,
		Role: eonpro.RoleAdmin, Permissions: eonpro.RolePermissions[eonpro.RoleAdmin]}),
		eonpro.NewPatient{GivenName: "Ada", FamilyName: "Lovelace", DateOfBirth: "1980-04-23", Address: eonpro.Address{State: "TX"}})
	if err != nil {
		t.Fatal(err)
	}
	_, login := postJSON(t, base+"/api/v1/auth/login", `{"email":"admin@lakeside.test","password":"correct horse battery staple"}`)
	tok, _ := login["token"].(string)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("kind", "lab_result")
	fw, _ := mw.CreateFormFile("file", "result.txt")
	_, _ = fw.Write([]byte(secret))
	_ = mw.Close()
	req, _ := http.NewRequest("POST", base+"/api/v1/patients/"+p.ID+"/documents", &body)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", res.StatusCode, raw)
	}
	id := strings.Split(strings.Split(string(raw), `"id":"`)[1], `"`)[0]
	req, _ = http.NewRequest("GET", base+"/api/v1/documents/"+id+"/content", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	got, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || string(got) != secret || res.Header.Get("Content-Type") != eonpro.ContentTypeText {
		t.Errorf("download: %d %s %q", res.StatusCode, res.Header.Get("Content-Type"), got)
	}
}
