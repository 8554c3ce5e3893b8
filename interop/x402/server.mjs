// A reference resource server (@x402/express 2.27) whose facilitator is Symbiont's, over HTTP.
// Usage: node server.mjs <facilitator url> <network> <asset> <payTo> <amount> <token name> <token version>
// Serves GET /weather for <amount> of <asset>; prints {"port": N} once listening.
import express from "express";
import { paymentMiddleware, x402ResourceServer } from "@x402/express";
import { HTTPFacilitatorClient } from "@x402/core/server";
import { ExactEvmScheme } from "@x402/evm/exact/server";

const [facilitatorUrl, network, asset, payTo, amount, name, version] = process.argv.slice(2);
const facilitator = new HTTPFacilitatorClient({ url: facilitatorUrl });
const server = new x402ResourceServer(facilitator).register(network, new ExactEvmScheme());
const routes = {
  "GET /weather": {
    accepts: {
      scheme: "exact",
      network,
      payTo,
      price: { amount, asset, extra: { name, version } },
      maxTimeoutSeconds: 60,
    },
    description: "Weather report",
    mimeType: "application/json",
  },
};
const app = express();
app.use(paymentMiddleware(routes, server));
app.get("/weather", (_req, res) => res.json({ report: { weather: "sunny", temperature: 70 } }));
const listener = app.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: listener.address().port }));
});
