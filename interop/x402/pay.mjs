// The reference client (@x402/fetch + @x402/evm 2.27, viem account) pays a URL.
// Usage: node pay.mjs <url> <payer private key> <network> <asset> <max amount per payment>
// Prints one JSON line: {status, body, receipt}. Exits 0 whatever the HTTP status.
import { privateKeyToAccount } from "viem/accounts";
import { wrapFetchWithPayment, x402Client, decodePaymentResponseHeader } from "@x402/fetch";
import { ExactEvmScheme } from "@x402/evm";

const [url, key, network, asset, max] = process.argv.slice(2);
const account = privateKeyToAccount(key);
const client = new x402Client()
  .register(network, new ExactEvmScheme(account))
  // Required for a token outside the SDK's default-asset table (research/x402.md §5.3).
  .setSpendControls({ allowedAssets: [{ network, asset, maxAmountPerPayment: max }] });
const payingFetch = wrapFetchWithPayment(fetch, client);
try {
  const res = await payingFetch(url);
  const header = res.headers.get("PAYMENT-RESPONSE");
  const receipt = header ? decodePaymentResponseHeader(header) : null;
  console.log(JSON.stringify({ status: res.status, body: await res.text(), receipt }));
} catch (e) {
  console.log(JSON.stringify({ status: 0, error: String(e && e.message ? e.message : e) }));
}
