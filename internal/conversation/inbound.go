package conversation

import (
	"context"

	"github.com/switchboard/switchboard/internal/channel"
)

// Receiver is what a channel calls with each inbound message.
type Receiver interface {
	Receive(ctx context.Context, in channel.Inbound) (channel.Receipt, error)
}

// Sender delivers outbound messages on one channel.
type Sender interface {
	Send(ctx context.Context, out channel.Outbound) (channel.SendResult, error)
}

// StatusReceiver takes delivery status updates from channels.
type StatusReceiver interface {
	UpdateDelivery(ctx context.Context, st channel.DeliveryStatus) error
}
