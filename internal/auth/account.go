package auth

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"
)

// Password length limits. bcrypt ignores bytes after the 72nd, and silently
// ignoring part of a password is worse than refusing it.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 72
)

// AdminID is the id of the first account, created by EnsureAdmin.
const AdminID = "admin"

// idPattern keeps ids safe inside Redis keys, URLs and logs; no colon, so
// an account id can never look like "token:<name>".
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// listItem is one skill or queue name.
var listItem = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Account is a person who signs in.
type Account struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// DisplayName is what customers are told of the agent ("Ana joined",
	// signatures): set by an admin or by the agent. Empty: the first word
	// of Name (CustomerName).
	DisplayName string    `json:"display_name,omitempty"`
	Role        Role      `json:"role"`
	Skills      []string  `json:"skills,omitempty"`
	Queues      []string  `json:"queues,omitempty"`
	Disabled    bool      `json:"disabled"`
	Created     time.Time `json:"created"`
}

func (a Account) validate() error {
	if !idPattern.MatchString(a.ID) {
		return fmt.Errorf("%w: account id %q (1-64 of A-Z a-z 0-9 . _ @ -)", ErrBadInput, a.ID)
	}
	if !a.Role.Valid() {
		return fmt.Errorf("%w: role %q", ErrBadInput, a.Role)
	}
	if len(a.Name) > 200 || strings.ContainsAny(a.Name, "\r\n") {
		return fmt.Errorf("%w: name of account %s", ErrBadInput, a.ID)
	}
	if err := checkDisplayName(a.DisplayName); err != nil {
		return err
	}
	for _, item := range slices.Concat(a.Skills, a.Queues) {
		if !listItem.MatchString(item) {
			return fmt.Errorf("%w: skill or queue %q", ErrBadInput, item)
		}
	}
	return nil
}

// MaxDisplayNameLen bounds Account.DisplayName, in bytes.
const MaxDisplayNameLen = 64

// checkDisplayName refuses a name customers could not be shown as one
// line of text.
func checkDisplayName(name string) error {
	if len(name) > MaxDisplayNameLen || !utf8.ValidString(name) || strings.TrimSpace(name) != name {
		return fmt.Errorf("%w: display_name must be at most %d bytes of text without leading or trailing spaces", ErrBadInput, MaxDisplayNameLen)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: display_name must not contain control characters", ErrBadInput)
		}
	}
	return nil
}

// CustomerName is what customers are told of the account's holder: the
// display name, else the first word of the name ("Ana", not "Ana Lima").
func (a Account) CustomerName() string {
	if a.DisplayName != "" {
		return a.DisplayName
	}
	return FirstName(a.Name)
}

// FirstName is the first word of a full name.
func FirstName(name string) string {
	if f, _, ok := strings.Cut(strings.TrimSpace(name), " "); ok {
		return f
	}
	return strings.TrimSpace(name)
}

func checkPassword(pw string) error {
	// The password itself never goes into the error.
	if len(pw) < MinPasswordLen || len(pw) > MaxPasswordLen {
		return fmt.Errorf("%w: password must be %d to %d bytes", ErrBadInput, MinPasswordLen, MaxPasswordLen)
	}
	return nil
}

// CreateAccount stores a new account with password. It fails with ErrExists
// when the id is taken. An empty Name defaults to the id.
func (s *Service) CreateAccount(ctx context.Context, a Account, password string) error {
	if a.Name == "" {
		a.Name = a.ID
	}
	if err := a.validate(); err != nil {
		return err
	}
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cfg.BcryptCost)
	if err != nil {
		return fmt.Errorf("auth: hash password of %s: %w", a.ID, err)
	}
	if a.Created.IsZero() {
		a.Created = s.cfg.Clock.Now()
	}
	args := []any{a.ID,
		"id", a.ID, "name", a.Name, "display", a.DisplayName, "role", string(a.Role), "pw", string(hash),
		"disabled", boolField(a.Disabled), "skills", strings.Join(a.Skills, ","),
		"queues", strings.Join(a.Queues, ","), "created", a.Created.UnixMilli(),
	}
	n, err := s.createAccount.Run(ctx, s.rdb, []string{s.keys.account(a.ID), s.keys.accounts()}, args...).Int()
	s.changes.Add(1)
	if err != nil {
		return fmt.Errorf("auth: create account %s: %w", a.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: account %s", ErrExists, a.ID)
	}
	return nil
}

// Account returns the account id, or ErrNotFound.
func (s *Service) Account(ctx context.Context, id string) (Account, error) {
	m, err := s.rdb.HGetAll(ctx, s.keys.account(id)).Result()
	if err != nil {
		return Account{}, fmt.Errorf("auth: account %s: %w", id, err)
	}
	if len(m) == 0 {
		return Account{}, fmt.Errorf("%w: account %s", ErrNotFound, id)
	}
	return accountFromHash(m), nil
}

// Accounts returns every account, ordered by id.
func (s *Service) Accounts(ctx context.Context) ([]Account, error) {
	ids, err := s.rdb.SMembers(ctx, s.keys.accounts()).Result()
	if err != nil {
		return nil, fmt.Errorf("auth: list accounts: %w", err)
	}
	slices.Sort(ids)
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, s.keys.account(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("auth: list accounts: %w", err)
	}
	out := make([]Account, 0, len(ids))
	for _, c := range cmds {
		if m := c.Val(); len(m) > 0 {
			out = append(out, accountFromHash(m))
		}
	}
	return out, nil
}

// SetDisabled disables or re-enables an account. A disabled account's
// sessions stop working on their next request; its password stays.
func (s *Service) SetDisabled(ctx context.Context, id string, disabled bool) error {
	return s.updateAccount(ctx, id, "disabled", boolField(disabled))
}

// UpdateAccount replaces the name, display name, role, skills and queues of the existing
// account a.ID; its password, creation time and disabled flag stay. An
// empty Name defaults to the id. A changed role takes effect on the
// account's next request, since sessions read the account every time.
func (s *Service) UpdateAccount(ctx context.Context, a Account) error {
	if a.Name == "" {
		a.Name = a.ID
	}
	if err := a.validate(); err != nil {
		return err
	}
	return s.updateAccount(ctx, a.ID, "name", a.Name, "display", a.DisplayName, "role", string(a.Role),
		"skills", strings.Join(a.Skills, ","), "queues", strings.Join(a.Queues, ","))
}

// SetDisplayName sets the name customers are told of the account's
// holder; "" goes back to the first word of the name. Agents set their
// own (PATCH /api/v1/me).
func (s *Service) SetDisplayName(ctx context.Context, id, name string) error {
	if err := checkDisplayName(name); err != nil {
		return err
	}
	return s.updateAccount(ctx, id, "display", name)
}

// SetPassword replaces an account's password.
func (s *Service) SetPassword(ctx context.Context, id, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cfg.BcryptCost)
	if err != nil {
		return fmt.Errorf("auth: hash password of %s: %w", id, err)
	}
	return s.updateAccount(ctx, id, "pw", string(hash))
}

// updateAccount sets fields (name, value pairs) of an existing account; a
// missing account is ErrNotFound rather than a half-made hash.
func (s *Service) updateAccount(ctx context.Context, id string, fieldValues ...string) error {
	key := s.keys.account(id)
	defer s.changes.Add(1) // after the write, whatever became of it
	err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
		n, err := tx.Exists(ctx, key).Result()
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: account %s", ErrNotFound, id)
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, key, fieldValues)
			return nil
		})
		return err
	}, key)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("auth: update account %s: %w", id, err)
	}
	return err
}

// GeneratePassword returns a new random password (144 bits, 24 URL-safe
// characters), for an account whose password an admin did not choose.
func GeneratePassword() (string, error) { return randomString(18) }

// EnsureAdmin creates the account "admin" on first start. With password
// empty it generates one and returns it, for the caller to print once;
// otherwise, and when the account exists already, it returns "". Two
// gateways starting together create it once.
func (s *Service) EnsureAdmin(ctx context.Context, password string) (generated string, err error) {
	n, err := s.rdb.Exists(ctx, s.keys.account(AdminID)).Result()
	if err != nil {
		return "", fmt.Errorf("auth: ensure admin: %w", err)
	}
	if n == 1 {
		return "", nil
	}
	if password == "" {
		if generated, err = GeneratePassword(); err != nil {
			return "", err
		}
		password = generated
	}
	err = s.CreateAccount(ctx, Account{ID: AdminID, Name: "Administrator", Role: RoleAdmin}, password)
	if errors.Is(err, ErrExists) {
		return "", nil // another gateway won the race and printed its own
	}
	if err != nil {
		return "", err
	}
	return generated, nil
}

// verify checks id and password. Unknown id, wrong password and disabled
// account all give ErrInvalidCredentials, after the same bcrypt work.
func (s *Service) verify(ctx context.Context, id, password string) (Account, error) {
	m, err := s.rdb.HGetAll(ctx, s.keys.account(id)).Result()
	if err != nil {
		return Account{}, fmt.Errorf("auth: load account: %w", err)
	}
	hash := s.dummyHash
	if pw := m["pw"]; pw != "" {
		hash = []byte(pw)
	}
	pwErr := bcrypt.CompareHashAndPassword(hash, []byte(password))
	if len(m) == 0 || pwErr != nil {
		return Account{}, ErrInvalidCredentials
	}
	a := accountFromHash(m)
	if a.Disabled {
		return Account{}, ErrInvalidCredentials
	}
	return a, nil
}

func accountFromHash(m map[string]string) Account {
	ms, _ := strconv.ParseInt(m["created"], 10, 64)
	return Account{
		ID:          m["id"],
		Name:        m["name"],
		DisplayName: m["display"],
		Role:        Role(m["role"]),
		Skills:      splitList(m["skills"]),
		Queues:      splitList(m["queues"]),
		Disabled:    m["disabled"] == "1",
		Created:     time.UnixMilli(ms).UTC(),
	}
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func boolField(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
