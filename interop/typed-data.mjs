// EIP-712 typed data through viem, for differential tests of Symbiont transactions and
// EIP-3009 authorizations.
//
//   node typed-data.mjs sign <private-key-hex> <typed-data-json>      prints r‖s‖v hex
//   node typed-data.mjs recover <signature-hex> <typed-data-json>     prints the address
//   node typed-data.mjs hash <typed-data-json>                        prints the signing hash
//   node typed-data.mjs batch <json array of [command, ...args]>      prints a JSON array
//                                                                     of the results
//
// <typed-data-json> is {domain, types, primaryType, message} as eth_signTypedData_v4 takes
// it (without the EIP712Domain entry, which viem derives from the domain).
import { hashTypedData, recoverTypedDataAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";

const hex = (s) => (s.startsWith("0x") ? s : `0x${s}`);

// JSON has no bigint: decimal strings stand for uint values, as wallets accept them.
function load(json) {
  const td = JSON.parse(json);
  if (td.domain.chainId !== undefined) td.domain.chainId = BigInt(td.domain.chainId);
  for (const field of td.types[td.primaryType]) {
    if (!field.type.startsWith("uint")) continue;
    const v = td.message[field.name];
    td.message[field.name] = field.type.endsWith("[]") ? v.map((x) => BigInt(x)) : BigInt(v);
  }
  return td;
}

async function run(command, args) {
  if (command === "sign" && args.length === 2) {
    return privateKeyToAccount(hex(args[0])).signTypedData(load(args[1]));
  } else if (command === "recover" && args.length === 2) {
    return recoverTypedDataAddress({ ...load(args[1]), signature: hex(args[0]) });
  } else if (command === "hash" && args.length === 1) {
    return hashTypedData(load(args[0]));
  }
  console.error("usage: typed-data.mjs sign <key> <json> | recover <sig> <json> | hash <json> | batch <json>");
  process.exit(2);
}

const [command, ...args] = process.argv.slice(2);
if (command === "batch" && args.length === 1) {
  const out = [];
  for (const [c, ...a] of JSON.parse(args[0])) out.push(await run(c, a));
  console.log(JSON.stringify(out));
} else {
  console.log(await run(command, args));
}
