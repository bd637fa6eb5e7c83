// Node-only entry point: native gRPC over HTTP/2 (connect-node).
//
//   import { createClient } from "@connectrpc/connect";
//   import { v1 } from "@tez/tezgram-sdk";
//   import { createNodeTransport } from "@tez/tezgram-sdk/node";
//   const transport = createNodeTransport({ baseUrl: "http://127.0.0.1:50051", token: jwt });
import type { Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";

import { type TransportOptions, transportInterceptors } from "./index.js";

export type { TransportOptions } from "./index.js";

/** gRPC (HTTP/2) transport for Node. Plaintext for http:// base URLs. */
export function createNodeTransport(opts: TransportOptions): Transport {
  return createGrpcTransport({
    baseUrl: opts.baseUrl,
    interceptors: transportInterceptors(opts),
  });
}
