// The billing team's receipt sender, invoked asynchronously (EventBridge, SNS, `--invocation-type Event`).
// A thrown error is retried by Lambda, then the whole invocation record lands in the failure archive.
export const handler = async (event) => {
  if (typeof event?.orderId !== "string" || event.orderId.length === 0) {
    throw new TypeError("receipt event has no orderId");
  }
  if (!(Number(event.total) > 0)) {
    throw new RangeError(`order ${event.orderId} has no positive total`);
  }
  console.log(JSON.stringify({ message: "receipt sent", orderId: event.orderId, total: Number(event.total) }));
  return { orderId: event.orderId, sent: true };
};
