// Package survey is the thank-you and one question that follow a
// conversation closed as resolved: when it is due (a configurable delay,
// moved out of quiet hours in the workspace zone), what it says on each
// channel (wording per queue), that it goes out once per conversation
// across retries and gateways, how a customer's reply is read (a bare
// digit 1–5 is a rating and opens nothing; other text still reaches a
// person), the signed links of the email rating page, and the figures
// (CSAT, response rate) per queue, agent and channel.
//
// A rating is handed to a Rater (service recovery, internal/recovery),
// which decides what a bad one sets off. The package imports no channel:
// the wiring gives it each channel's sender, and web chat's inline
// question through the small ChatAsker interface.
package survey
