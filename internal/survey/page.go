package survey

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/channel"
)

// PathRate is the rating page: GET /rate/<conversation>/<score>?sig=…
// shows the choice and a comment field; POST records it.
const PathRate = "/rate/:conv/:score"

// sign is the link signature of (convID, score): HMAC-SHA256 under the
// workspace's survey secret, so a link names one conversation and one
// score and cannot be edited into another.
func (s *Service) sign(convID string, score int) string {
	m := hmac.New(sha256.New, s.p.Secret)
	m.Write([]byte("rate\x00" + convID + "\x00" + strconv.Itoa(score)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

func (s *Service) verify(convID string, score int, sig string) bool {
	if len(s.p.Secret) == 0 {
		return false
	}
	return hmac.Equal([]byte(sig), []byte(s.sign(convID, score)))
}

// RateURL is the signed link that rates convID with score.
func (s *Service) RateURL(convID string, score int) string {
	return s.p.PublicURL + "/rate/" + convID + "/" + strconv.Itoa(score) + "?sig=" + s.sign(convID, score)
}

// links is the email's five links, one a line.
func (s *Service) links(convID string) string {
	names := []string{"", "1 – Poor", "2 – Fair", "3 – Good", "4 – Very good", "5 – Excellent"}
	var b strings.Builder
	for n := 5; n >= 1; n-- {
		b.WriteString(names[n] + ": " + s.RateURL(convID, n) + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// Register adds the rating page's routes.
func (s *Service) Register(r channel.Routes) {
	r.Add(http.MethodGet, PathRate, s.servePage)
	r.Add(http.MethodPost, PathRate, s.servePage)
}

// maxCommentBytes bounds a comment from the page.
const maxCommentBytes = 2000

type pageData struct {
	Conv, Sig, Thanks, Error string
	Score                    int
	Scores                   []int
	Done                     bool
}

// servePage shows the choice (GET: a mail scanner that follows the link
// records nothing) and records it with the optional comment (POST).
func (s *Service) servePage(c echo.Context) error {
	convID, sig := c.Param("conv"), c.QueryParam("sig")
	if sig == "" {
		sig = c.FormValue("sig")
	}
	score, err := strconv.Atoi(c.Param("score"))
	if err != nil || score < 1 || score > 5 || len(convID) > 128 || !s.verify(convID, score, sig) {
		return s.render(c, http.StatusNotFound, pageData{Error: "This rating link is not valid. Please use a link from our email as it is."})
	}
	sv, err := s.Get(c.Request().Context(), convID)
	if errors.Is(err, ErrNotFound) {
		return s.render(c, http.StatusNotFound, pageData{Error: "This rating link is not valid any more."})
	}
	if err != nil {
		return s.render(c, http.StatusServiceUnavailable, pageData{Error: "We could not record your rating just now. Please try the link again later."})
	}
	w := s.p.Config.words("")
	if sv.Score != 0 {
		return s.render(c, http.StatusOK, pageData{Done: true, Score: sv.Score, Thanks: "Your rating was recorded already — thank you."})
	}
	d := pageData{Conv: convID, Sig: sig, Score: score, Scores: []int{1, 2, 3, 4, 5}, Thanks: w.Thanks}
	if c.Request().Method != http.MethodPost {
		return s.render(c, http.StatusOK, d)
	}
	comment := c.FormValue("comment")
	if len(comment) > maxCommentBytes {
		d.Error = "Your comment is too long; please keep it under 2,000 characters."
		return s.render(c, http.StatusBadRequest, d)
	}
	switch err := s.Rate(c.Request().Context(), convID, score, comment); {
	case errors.Is(err, ErrRated):
		return s.render(c, http.StatusOK, pageData{Done: true, Score: score, Thanks: "Your rating was recorded already — thank you."})
	case err != nil:
		d.Error = "We could not record your rating just now. Please try again."
		return s.render(c, http.StatusServiceUnavailable, d)
	}
	return s.render(c, http.StatusOK, pageData{Done: true, Score: score, Thanks: w.Thanks})
}

func (s *Service) render(c echo.Context, status int, d pageData) error {
	h := c.Response().Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	c.Response().WriteHeader(status)
	return pageTemplate.Execute(c.Response(), d)
}

var pageTemplate = template.Must(template.New("rate").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>How did we do?</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
main{max-width:28rem;margin:3rem auto;background:#fff;border-radius:12px;padding:2rem;box-shadow:0 1px 4px #0002}
h1{font-size:1.4rem;margin:0 0 1rem}
.scores{display:flex;gap:.5rem;margin:1rem 0}
.scores a,.scores span{flex:1;text-align:center;padding:.6rem 0;border:1px solid #c5cad3;border-radius:8px;text-decoration:none;color:inherit}
.scores .on{background:#2456d6;color:#fff;border-color:#2456d6;font-weight:600}
textarea{width:100%;box-sizing:border-box;min-height:6rem;font:inherit;padding:.5rem;border:1px solid #c5cad3;border-radius:8px}
button{margin-top:1rem;font:inherit;padding:.6rem 1.4rem;border:0;border-radius:8px;background:#2456d6;color:#fff;cursor:pointer}
.err{color:#a4161a}
</style></head><body><main>
{{if .Error}}<h1>How did we do?</h1><p class="err" role="alert">{{.Error}}</p>{{end}}
{{if .Done}}<h1>{{.Thanks}}</h1><p>You rated us {{.Score}} out of 5.</p>
{{else if .Scores}}<h1>How did we do?</h1>
<p>Your rating: <strong>{{.Score}} out of 5</strong>.</p>
<form method="post">
<input type="hidden" name="sig" value="{{.Sig}}">
<label for="comment">Anything you would like to add? (optional)</label>
<textarea id="comment" name="comment" maxlength="2000"></textarea>
<button type="submit">Send rating</button>
</form>{{end}}
</main></body></html>
`))
