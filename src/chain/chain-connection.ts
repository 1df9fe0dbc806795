/**
 * The gateway's line to a chain: the embedded anvil (spawned on a free loopback port, signing with its
 * first dev account) unless $RPC_URL names another chain, signed for by $PRIVATE_KEY or a keystore.
 * Transactions go through one NonceManager per process, so submissions never race for a nonce.
 */
import { readFile } from "node:fs/promises";
import { JsonRpcProvider, NonceManager, Wallet, type HDNodeWallet } from "ethers";
import type { Logger } from "pino";
import type { Config } from "../config/config.js";
import { urlForLogs, withoutUrl } from "../core/secret.js";
import { ANVIL_DEV_KEY, rpcChainId, startAnvil, type Anvil } from "./anvil.js";

export interface ChainConnection {
  readonly provider: JsonRpcProvider;
  readonly signer: NonceManager;
  readonly address: string;
  readonly chainId: number;
  /** The spawned anvil, when the chain is embedded. */
  readonly anvil: Anvil | null;
  close(): Promise<void>;
}

async function wallet(config: Config): Promise<Wallet | HDNodeWallet> {
  const source = config.chainSigner;
  if (!config.rpcUrl || !source) return new Wallet(ANVIL_DEV_KEY);
  if (source.kind === "key") return new Wallet(source.privateKey.reveal());
  try {
    return await Wallet.fromEncryptedJson(await readFile(source.path, "utf8"), source.password.reveal());
  } catch (err) {
    throw new Error(`cannot open the keystore ${source.path}: ${(err as Error).message}`);
  }
}

/** Null when the submit policy is `none`: nothing goes on-chain, no chain is started. */
export async function openChain(config: Config, logger: Logger): Promise<ChainConnection | null> {
  if (config.submitPolicy === "none") return null;
  const anvil = config.rpcUrl ? null : await startEmbeddedChain(config);
  const url = config.rpcUrl ?? anvil!.url;
  try {
    const chainId = await rpcChainId(url);
    // a static network: ethers would otherwise re-detect it, and retry forever, whenever the RPC blinks;
    // no response cache: a nonce read right after a failed send must be the chain's, not a cached one
    const provider = new JsonRpcProvider(url, chainId, {
      staticNetwork: true,
      polling: true,
      pollingInterval: 250,
      cacheTimeout: -1,
    });
    const signer = new NonceManager((await wallet(config)).connect(provider));
    const address = await signer.getAddress();
    const state = anvil ? { state: config.anvilStatePath ?? "none (a fresh chain)" } : {};
    logger.info(
      { chainId, rpc: anvil ? `embedded anvil on port ${anvil.port}` : urlForLogs(url), ...state, account: address },
      "chain connected",
    );
    return {
      provider,
      signer,
      address,
      chainId,
      anvil,
      async close() {
        provider.destroy();
        await anvil?.stop();
      },
    };
  } catch (err) {
    await anvil?.stop();
    // errors of ethers and fetch quote the URL they failed on: an RPC_URL's key must not reach the log
    if (config.rpcUrl)
      throw new Error(`chain at ${urlForLogs(config.rpcUrl)}: ${withoutUrl((err as Error).message, config.rpcUrl)}`);
    throw err;
  }
}

/** anvil on the state file of the config (or none); a state file it cannot read is named, with the ways out. */
async function startEmbeddedChain(config: Config): Promise<Anvil> {
  const statePath = config.anvilStatePath;
  try {
    return await startAnvil({ statePath: statePath ?? undefined });
  } catch (err) {
    if (!statePath) throw err;
    throw new Error(
      `${(err as Error).message} (its state file is ${statePath}: move it away, or set PROOFGATE_ANVIL_STATE=none for a fresh chain)`,
      { cause: err },
    );
  }
}
