package sms_test

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/channels/sms"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/twilioapi"
)

// The wiring: configuration from flags, environment and the channels.sms
// section; the conversation service as Receiver and StatusReceiver; the
// channel as the outbox's Sender for conversation.ChannelSMS.
func ExampleNew() {
	var (
		log     = slog.Default()
		e       = echo.New()
		rdb     redis.UniversalClient // the store's client
		service interface {           // the conversation service
			conversation.Receiver
			conversation.StatusReceiver
		}
		estimator sms.Estimator       // routing's wait estimate (nil: none)
		promises  sms.PromiseRecorder // where promises are kept (nil: nowhere)
	)
	cfg := sms.Config{
		Credentials: twilioapi.Credentials{AccountSID: os.Getenv("TWILIO_ACCOUNT_SID"), AuthToken: os.Getenv("TWILIO_AUTH_TOKEN")},
		PublicURL:   "https://support.example.com",
		APIBaseURL:  os.Getenv("TWILIO_API_BASE_URL"),
		// Numbers, DefaultQueue, Replies, BusinessHours: decoded from the
		// channels.sms YAML node.
	}
	ch, err := sms.New(cfg, sms.Deps{
		Receiver: service, Status: service,
		OptOuts:   sms.NewRedisOptOuts(rdb, "default"),
		Estimator: estimator, Promises: promises, Logger: log,
	})
	switch {
	case errors.Is(err, sms.ErrDisabled):
		log.Info(err.Error()) // "sms: channel off: … not set"
		return
	case err != nil:
		log.Error("sms", "err", err)
		return
	}
	log.Info(ch.Describe())
	ch.Register(e)
	var _ conversation.Sender = ch // register with the outbox for ChannelSMS
	defer ch.Close(context.Background())
}
