// Package s3store keeps attachments in an S3-compatible bucket (AWS S3,
// MinIO, SeaweedFS, Ceph, R2 …), so that a file uploaded through one
// gateway is served and sent by every other. It satisfies
// conversation.AttachmentStore; the local directory stays the default.
//
// Objects are private: the bucket needs no public access, downloads go
// through the gateway's authenticated attachment route, and object keys
// carry 128 random bits (the conversation service makes them).
package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/switchboard/switchboard/internal/conversation"
)

// Config locates the bucket. The URL carries no credentials, so it can be
// logged; the keys are secrets.
type Config struct {
	// URL is the endpoint and the bucket, path style:
	// https://s3.eu-west-1.amazonaws.com/my-bucket or
	// http://10.0.0.5:8333/attachments. An optional "region" query
	// parameter sets the region (default: asked of the server).
	URL string
	// AccessKey and SecretKey sign the requests; both empty means
	// anonymous access.
	AccessKey, SecretKey string
}

// Store is a bucket holding attachments.
type Store struct {
	c      *minio.Client
	bucket string
}

// New parses cfg; it does not contact the server.
func New(cfg Config) (*Store, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, errors.New("s3store: attachments URL must be http(s)://host[:port]/bucket")
	}
	bucket := strings.Trim(u.Path, "/")
	if bucket == "" || strings.Contains(bucket, "/") {
		return nil, errors.New("s3store: attachments URL must name one bucket as its path")
	}
	var creds *credentials.Credentials
	if cfg.AccessKey != "" || cfg.SecretKey != "" {
		creds = credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")
	} else {
		creds = credentials.New(&credentials.Static{}) // anonymous
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:        creds,
		Secure:       u.Scheme == "https",
		Region:       u.Query().Get("region"),
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("s3store: client: %w", err)
	}
	return &Store{c: c, bucket: bucket}, nil
}

// CreateBucket makes the bucket if it is missing (tests and first runs;
// production buckets are usually made by whoever grants the keys).
func (s *Store) CreateBucket(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("s3store: bucket %s: %w", s.bucket, err)
	}
	if ok {
		return nil
	}
	if err := s.c.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{}); err != nil {
		return fmt.Errorf("s3store: make bucket %s: %w", s.bucket, err)
	}
	return nil
}

// Ping checks that the bucket answers, for readiness.
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.c.BucketExists(ctx, s.bucket); err != nil {
		return fmt.Errorf("s3store: bucket %s: %w", s.bucket, err)
	}
	return nil
}

// Put implements conversation.AttachmentStore. The file is read into
// memory first (at most limit+1 bytes, 10 MiB by default), so that an
// oversized one is refused before anything is uploaded and the upload is a
// single PUT of known length.
func (s *Store) Put(ctx context.Context, key, contentType string, r io.Reader, limit int64) (int64, error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, limit+1))
	if err != nil {
		return 0, fmt.Errorf("s3store: read attachment: %w", err)
	}
	if n > limit {
		return 0, fmt.Errorf("attachment over %d bytes: %w", limit, conversation.ErrTooLarge)
	}
	if _, err := s.c.PutObject(ctx, s.bucket, key, &buf, n, minio.PutObjectOptions{ContentType: contentType}); err != nil {
		return 0, fmt.Errorf("s3store: put: %w", err)
	}
	return n, nil
}

// Open implements conversation.AttachmentStore.
func (s *Store) Open(ctx context.Context, key string) (io.ReadSeekCloser, conversation.AttachmentInfo, error) {
	obj, err := s.c.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, conversation.AttachmentInfo{}, s.wrap(err)
	}
	// GetObject is lazy; Stat makes the request and reports a missing key.
	st, err := obj.Stat()
	if err != nil {
		_ = obj.Close()
		return nil, conversation.AttachmentInfo{}, s.wrap(err)
	}
	return obj, conversation.AttachmentInfo{Size: st.Size, ModTime: st.LastModified}, nil
}

// Stat implements conversation.AttachmentStore.
func (s *Store) Stat(ctx context.Context, key string) (conversation.AttachmentInfo, error) {
	st, err := s.c.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return conversation.AttachmentInfo{}, s.wrap(err)
	}
	return conversation.AttachmentInfo{Size: st.Size, ModTime: st.LastModified}, nil
}

// wrap maps a missing object to conversation.ErrNotFound.
func (s *Store) wrap(err error) error {
	switch minio.ToErrorResponse(err).Code {
	case minio.NoSuchKey, "NotFound":
		return conversation.ErrNotFound
	}
	return fmt.Errorf("s3store: %w", err)
}

var _ conversation.AttachmentStore = (*Store)(nil)
