package conversation

import (
	"context"

	"github.com/switchboard/switchboard/internal/channel"
)

// The channel-facing types are the channel contract's; these names remain
// until every caller says channel.X (issue 10 moves them).
type (
	Channel        = channel.Name
	Attachment     = channel.Attachment
	Inbound        = channel.Inbound
	Receipt        = channel.Receipt
	Outbound       = channel.Outbound
	SendResult     = channel.SendResult
	PermanentError = channel.PermanentError
	DeliveryStatus = channel.DeliveryStatus
)

// The channels Switchboard speaks.
const (
	ChannelSMS   = channel.SMS
	ChannelVoice = channel.Voice
	ChannelEmail = channel.Email
	ChannelChat  = channel.Chat
)

// ErrTemporary marks a send failure worth retrying.
var ErrTemporary = channel.ErrTemporary

// Receiver is what a channel calls with each inbound message.
type Receiver interface {
	Receive(ctx context.Context, in Inbound) (Receipt, error)
}

// Sender delivers outbound messages on one channel.
type Sender interface {
	Send(ctx context.Context, out Outbound) (SendResult, error)
}

// StatusReceiver takes delivery status updates from channels.
type StatusReceiver interface {
	UpdateDelivery(ctx context.Context, st DeliveryStatus) error
}
