// Package twilioapi holds what the Twilio channels (SMS and voice) share:
// checking the X-Twilio-Signature of webhooks against the public URL Twilio
// called, building the twilio-go REST client (optionally pointed at a
// Twilio-compatible mock), and turning REST failures into retryable or
// permanent errors, with the wait a 429's Retry-After asks for, without
// ever leaking the account's credentials.
//
// It is the only place besides the two Twilio channels that imports
// twilio-go, so an SDK upgrade touches one package.
package twilioapi
