package sms_test

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/channels/sms"
	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/twilioapi"
)

// The wiring: configuration from flags, environment and the channels.sms
// section; the desk as the channel.Core; the channel listed once, so the
// wiring registers its routes, runs it and sends SMS replies through it.
func ExampleNew() {
	var (
		log  = slog.Default()
		e    = echo.New()
		rdb  redis.UniversalClient // the store's client
		core channel.Core          // the desk
	)
	cfg := sms.Config{
		Credentials: twilioapi.Credentials{AccountSID: os.Getenv("TWILIO_ACCOUNT_SID"), AuthToken: os.Getenv("TWILIO_AUTH_TOKEN")},
		PublicURL:   "https://support.example.com",
		APIBaseURL:  os.Getenv("TWILIO_API_BASE_URL"),
		// Numbers, DefaultQueue, Replies, BusinessHours: decoded from the
		// channels.sms YAML node.
	}
	ch, err := sms.New(cfg, core, sms.Deps{OptOuts: conversation.NewOptOuts(rdb, "default"), Logger: log})
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
	var _ channel.Channel = ch // listed with the other channels
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { _ = ch.Run(ctx) }()
}
