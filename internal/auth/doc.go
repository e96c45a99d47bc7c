// Package auth owns who may use Switchboard: agent, supervisor and admin
// accounts with bcrypt passwords, browser sessions in an HttpOnly cookie
// with CSRF tokens, API tokens for integrations, and the login rate limit.
// Everything is kept in Redis, so any gateway accepts a session or token
// that another gateway issued and a rate limit holds across all of them.
//
// HTTP code reaches it through [Service.Middleware], which puts a
// [Principal] in the echo context, and [Handler] (login, logout, me).
// Websocket handlers call [Service.Check] before upgrading. The admin
// subcommands of the binary call the functions in cli.go.
//
// Defaults: sessions expire after 8 h idle (sliding) and 7 days in all;
// 5 failed logins per account or per client IP within 15 minutes lock
// further attempts from that account or IP until the window ends (429 with
// Retry-After).
package auth
