/** The webhook receiver lives in @rerank/harness (the bench times jobs with it too). */
export { type Delivery, type Receiver, startReceiver } from '@rerank/harness';
