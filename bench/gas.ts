/**
 * bench/gas: gas of every on-chain path, measured as real transactions on the embedded anvil with
 * the contracts the gateway deploys (artifacts/contracts) and real proofs of the shipped circuits:
 * the bare snarkjs verifiers, the registry's verify-and-record (built-in key and external verifier),
 * batched trace records of 1 to 32 decoding steps, the oracle round trip, the two example consumers,
 * and each contract's deployed size.
 * Run: node --import tsx bench/gas.ts   (~1 minute: 32 student step proofs and 7 spam proofs)
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import {
  Contract,
  ContractFactory,
  JsonRpcProvider,
  NonceManager,
  Wallet,
  getBytes,
  id as keccakText,
  type InterfaceAbi,
} from "ethers";
import { pino } from "pino";
import { median } from "../src/core/numbers.js";
import { ANVIL_DEV_KEY, anvilBinary, startAnvil } from "../src/chain/anvil.js";
import type { ChainConnection } from "../src/chain/chain-connection.js";
import { contract, loadContracts } from "../src/chain/contract-build.js";
import { deployContracts } from "../src/chain/deployment.js";
import {
  generationContentHash,
  HASHED_NONCE_BITS,
  oracleNonce,
  requestNonce,
  textContentHash,
} from "../src/core/request-binding.js";
import { proofWords } from "../src/chain/proof-calldata.js";
import { releaseSnarkWorkers } from "../src/snark/snark-workers.js";
import { spamFeatures } from "../src/model/spam-features.js";
import { Tokenizer, type TokenizerJSON } from "../src/model/tokenizer.js";
import { CompiledCatalog } from "../src/prover/compiled-catalog.js";
import { loadCompiledModel } from "../src/prover/compiled-model.js";
import { nonceBitsOf } from "../src/prover/proof-scheduler.js";
import { prove, type ProofFile } from "../src/prover/prove.js";
import { decodingStepWindows } from "../src/witness/step-windows.js";
import { machineLine, markdownTable, writeSection } from "./report.js";

const SPAM_DIR = "artifacts/models/pg-spam";
const STUDENT_DIR = "artifacts/models/pg-student";
const SPAM_RUNS = 5;
const TRACE_STEPS = 16;
const BATCHES = [1, 4, 8, 16, 32];
const FEE_WEI = 10n ** 15n;
/** The gateway's default price per gas of callback (PROOFGATE_ORACLE_FEE_PER_GAS_WEI). */
const FEE_PER_GAS_WEI = 5n * 10n ** 10n;
const TIMELOCK_DELAY_S = 2 * 24 * 3600;
/** MessageBoard.post's verdict is asked for as the gateway asks: its nonce binds the text and this salt. */
const POST_SALT = keccakText("bench/gas post salt");
const CALLBACK_GAS = 300_000;
const EIP170 = 24_576;
/**
 * A short message the classifier calls ham: what MessageBoard publishes, both ways in. (Trained on
 * SpamAssassin's mailing-list ham, it calls most short everyday notes spam.)
 */
const HAM_TEXT = "Re: perl script question. Thanks, that fixed it. The list archive has the older thread.";
const PROMPT = "Call me Ishmael. Some years ago, never mind how long precisely,";
/** Explicit gas limits, never estimates: a snarkjs verifier answers false when its pairing runs out of gas. */
const LIMIT = {
  verifier: 1_000_000n,
  record: 1_000_000n,
  oracle: 2_000_000n,
  board: 1_000_000n,
  trace: 8_000_000n,
} as const;

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

interface Sent {
  readonly gasUsed: number;
  /** EIP-2028 calldata gas of the transaction's data: 4 per zero byte, 16 per other byte. */
  readonly calldataGas: number;
  readonly logs: readonly { topics: readonly string[]; data: string }[];
}

function calldataGas(data: string): number {
  let gas = 0;
  for (const b of getBytes(data)) gas += b === 0 ? 4 : 16;
  return gas;
}

async function send(
  target: Contract,
  method: string,
  args: readonly unknown[],
  gasLimit: bigint,
  value = 0n,
): Promise<Sent> {
  const tx = await target.getFunction(method).send(...args, { gasLimit, value });
  const receipt = await tx.wait();
  if (receipt?.status !== 1) throw new Error(`${method} failed`);
  if (receipt.gasUsed >= gasLimit) throw new Error(`${method} used its whole gas limit`);
  return { gasUsed: Number(receipt.gasUsed), calldataGas: calldataGas(tx.data), logs: receipt.logs };
}

async function deploy(
  chain: ChainConnection,
  compiled: { abi: readonly Record<string, unknown>[]; bytecode: string },
): Promise<Contract> {
  const deployed = await new ContractFactory(compiled.abi as InterfaceAbi, compiled.bytecode, chain.signer).deploy();
  await deployed.waitForDeployment();
  return deployed as Contract;
}

/** The snarkjs verifier's arguments: A, B (halves swapped, as proofWords has them), C, signals. */
function verifierArgs(file: ProofFile): unknown[] {
  const w = proofWords(file.proof);
  return [
    [w[0], w[1]],
    [
      [w[2], w[3]],
      [w[4], w[5]],
    ],
    [w[6], w[7]],
    file.public_signals.map(BigInt),
  ];
}

function hardfork(info: unknown): string {
  return (info as { hardFork?: string } | null)?.hardFork ?? "unknown";
}

const t0 = performance.now();
const logger = pino({ level: "silent" });
const artifact = await loadContracts();
const spam = await loadCompiledModel(SPAM_DIR);
const student = await loadCompiledModel(STUDENT_DIR);
const hamSample = Array.from(spamFeatures(HAM_TEXT), Number);

// ---- proofs first, so the chain part runs in one go
const spamProofs: ProofFile[] = [];
const postNonce = requestNonce(textContentHash(HAM_TEXT), POST_SALT, HASHED_NONCE_BITS);
for (let k = 0; k < SPAM_RUNS; k++)
  spamProofs.push(await prove(spam, { sample: hamSample, nonce: k === 0 ? postNonce : 1_000_000n + BigInt(k) }));
if (spamProofs[0]!.output !== 0)
  throw new Error(`the spam classifier does not call the bench's text ham (label ${String(spamProofs[0]!.output)})`);
const tokenizerJson = JSON.parse(await readFile(join(STUDENT_DIR, "tokenizer.json"), "utf8")) as TokenizerJSON;
const tokenizer = Tokenizer.fromJSON(tokenizerJson);
const context = student.manifest.packing.kind === "token-step" ? student.manifest.packing.context : 16;
const prompt = tokenizer.encode(PROMPT);
// the nonce the gateway would prove a TRACE_STEPS-token completion of PROMPT under: CompletionStore recomputes it
const traceRequest = { prompt, maxTokens: TRACE_STEPS, stop: [] as string[], salt: keccakText("bench/gas trace salt") };
const traceNonce = requestNonce(
  generationContentHash(prompt, TRACE_STEPS, traceRequest.stop),
  traceRequest.salt,
  nonceBitsOf(student.manifest),
);
const generated: number[] = [];
const steps: ProofFile[] = [];
const maxSteps = Math.max(...BATCHES);
for (let k = 0; k < maxSteps; k++) {
  // the window step k sees: prompt + generated[0..k), as step-windows.ts lays it out
  const window = decodingStepWindows(prompt, [...generated, 0], context, tokenizer.eotId)[k]!;
  const step = await prove(student, { sample: window, nonce: traceNonce });
  steps.push(step);
  generated.push(step.output as number);
}
await releaseSnarkWorkers();
const provingS = (performance.now() - t0) / 1000;
console.error(`proofs: ${SPAM_RUNS} spam, ${maxSteps} student steps in ${provingS.toFixed(1)} s`);

// ---- the chain: anvil, the gateway's deployment
const anvil = await startAnvil();
const dataDir = await mkdtemp(join(os.tmpdir(), "proofgate-bench-gas-"));
// no request cache: ethers would answer the nonce count from up to 250 ms ago, and after a revert
// NonceManager.reset() must read the chain's count as it is now
const provider = new JsonRpcProvider(anvil.url, anvil.chainId, {
  staticNetwork: true,
  polling: true,
  pollingInterval: 50,
  cacheTimeout: -1,
});
const signer = new NonceManager(new Wallet(ANVIL_DEV_KEY).connect(provider));
const chain: ChainConnection = {
  provider,
  signer,
  address: await signer.getAddress(),
  chainId: anvil.chainId,
  anvil,
  close: async () => undefined,
};
try {
  const anvilVersion = execFileSync(anvilBinary(), ["--version"], { encoding: "utf8" })
    .split("\n")[0]!
    .replace(/^anvil Version: /, "");
  const fork = hardfork(await provider.send("anvil_nodeInfo", []).catch(() => null));
  const catalog = await CompiledCatalog.open({ roots: ["artifacts/models"], dirs: [] });
  const deployment = await deployContracts(chain, artifact, catalog, {
    dataDir,
    fee: { baseWei: FEE_WEI, perGasWei: FEE_PER_GAS_WEI },
    timeoutS: 3600,
    timelockDelayS: TIMELOCK_DELAY_S,
    logger,
  });
  const spamKey = deployment.models[spam.manifest.model_id]!.key;
  const studentKey = deployment.models[student.manifest.model_id]!.key;
  const registryAbi = contract(artifact, "ProofgateRegistry").abi as InterfaceAbi;
  const registry = new Contract(deployment.registry, registryAbi, signer);
  const oracle = new Contract(deployment.oracle, contract(artifact, "InferenceOracle").abi as InterfaceAbi, signer);
  const board = new Contract(deployment.message_board!, contract(artifact, "MessageBoard").abi as InterfaceAbi, signer);
  const store = new Contract(
    deployment.completion_store!,
    contract(artifact, "CompletionStore").abi as InterfaceAbi,
    signer,
  );
  const timelock = new Contract(
    deployment.timelock.address,
    contract(artifact, "Timelock").abi as InterfaceAbi,
    signer,
  );

  // 1. bare snarkjs verifiers
  const bare: Record<string, number> = {};
  const bareAll: Record<string, number[]> = {};
  for (const [name, proofs] of [
    ["pg-spam", spamProofs],
    ["pg-student", steps.slice(0, SPAM_RUNS)],
  ] as const) {
    const verifier = await deploy(chain, contract(artifact, `artifacts/models/${name}/Verifier.sol:Groth16Verifier`));
    const gas: number[] = [];
    for (const p of proofs) {
      if (!((await verifier.getFunction("verifyProof").staticCall(...verifierArgs(p))) as boolean))
        throw new Error(`${name}: the snarkjs verifier rejects a proof`);
      gas.push((await send(verifier, "verifyProof", verifierArgs(p), LIMIT.verifier)).gasUsed);
    }
    bare[name] = median(gas)!;
    bareAll[name] = gas;
  }

  // 2. verify-and-record, built-in key, then the same proofs through the spam verifier registered under another key
  const builtIn: number[] = [];
  for (const p of spamProofs)
    builtIn.push(
      (await send(registry, "verifyAndRecord", [spamKey, proofWords(p.proof), p.public_signals], LIMIT.record)).gasUsed,
    );
  const spamVerifier = await deploy(chain, contract(artifact, `artifacts/models/pg-spam/Verifier.sol:Groth16Verifier`));
  const externalKey = keccakText("pg-spam through its snarkjs verifier");
  // the registry's owner is the timelock: scheduled, the delay passed on anvil's clock, executed
  const registration = registry.interface.encodeFunctionData("registerModel", [
    externalKey,
    await spamVerifier.getAddress(),
    2,
    1,
    16,
    0,
    spam.manifest.model_id_field,
  ]);
  const scheduledRegistration = await send(
    timelock,
    "schedule",
    [deployment.registry, 0, registration, POST_SALT],
    LIMIT.record,
  );
  await provider.send("evm_increaseTime", [TIMELOCK_DELAY_S]);
  await provider.send("evm_mine", []);
  const executedRegistration = await send(
    timelock,
    "execute",
    [deployment.registry, 0, registration, POST_SALT],
    LIMIT.record,
  );
  const external: number[] = [];
  for (const p of spamProofs)
    external.push(
      (await send(registry, "verifyAndRecord", [externalKey, proofWords(p.proof), p.public_signals], LIMIT.record))
        .gasUsed,
    );

  // 3. traces: every batch size from the same 32-step generation, each on a fresh copy of the chain
  const traces = new Map<number, Sent>();
  const recordTrace = (n: number) =>
    send(
      registry,
      "recordTraces",
      [
        studentKey,
        steps.slice(0, n).map((s) => proofWords(s.proof)),
        steps.slice(0, n).flatMap((s) => s.public_signals),
        [n],
      ],
      LIMIT.trace,
    );
  for (const n of BATCHES.filter((b) => b !== TRACE_STEPS)) {
    const snapshot = (await provider.send("evm_snapshot", [])) as string;
    traces.set(n, await recordTrace(n));
    if (!(await provider.send("evm_revert", [snapshot]))) throw new Error("anvil did not revert to its snapshot");
    signer.reset(); // the reverted transaction's nonce is free again
  }
  traces.set(TRACE_STEPS, await recordTrace(TRACE_STEPS)); // kept: CompletionStore stores it below

  // 4. the consumers and the oracle
  const stored = await send(store, "store", [traceRequest, generated.slice(0, TRACE_STEPS)], LIMIT.board);
  const storedEvent = stored.logs.map((l) => store.interface.parseLog(l)).find((e) => e?.name === "CompletionStored")!;
  const [, storedPrompt, storedText] = (await store.getFunction("completion").staticCall(storedEvent.args[0])) as [
    string,
    string,
    string,
  ];
  const posted = await send(board, "post", [HAM_TEXT, POST_SALT], LIMIT.board);
  const requestFee = (await oracle.getFunction("fee").staticCall(spamKey, CALLBACK_GAS)) as bigint;
  const submitted = await send(board, "submit", [HAM_TEXT, CALLBACK_GAS], LIMIT.oracle, requestFee);
  const requested = submitted.logs
    .map((l) => oracle.interface.parseLog(l))
    .find((e) => e?.name === "InferenceRequested")!;
  const requestId = requested.args[0] as bigint;
  const inputWords = Array.from(requested.args[7] as bigint[]); // the event's Result is frozen, and ethers writes into arrays it encodes
  const fulfillerNonce = oracleNonce(
    { chainId: anvil.chainId, oracle: deployment.oracle, requestId, fulfiller: chain.address },
    HASHED_NONCE_BITS,
  );
  const answer = await prove(spam, { sample: hamSample, nonce: fulfillerNonce });
  await releaseSnarkWorkers();
  const fulfilled = await send(
    oracle,
    "fulfill",
    [requestId, inputWords, proofWords(answer.proof), answer.public_signals],
    LIMIT.oracle,
  );
  const published = fulfilled.logs.map((l) => board.interface.parseLog(l)).some((e) => e?.name === "Posted");
  if (!published) throw new Error("the oracle's callback did not publish the post");
  // the oracle alone, asked by an account (no consumer contract around it)
  const direct = await send(oracle, "requestInference", [spamKey, inputWords, chain.address, 0], LIMIT.oracle, FEE_WEI);
  // the Poseidon both commitments recompute, alone: a transaction to the hasher's view function
  const poseidon7 = new Contract(
    deployment.hashers["7"]!,
    contract(artifact, "PoseidonT8").abi as InterfaceAbi,
    signer,
  );
  const hashed = await send(
    poseidon7,
    "hash",
    [[BigInt(spam.manifest.model_id_field), fulfillerNonce, ...inputWords]],
    LIMIT.board,
  );

  // ---- report
  const per = (n: number) => traces.get(n)!.gasUsed / n;
  const marginal = (traces.get(32)!.gasUsed - traces.get(16)!.gasUsed) / 16;
  const marginalCalldata = (traces.get(32)!.calldataGas - traces.get(16)!.calldataGas) / 16;
  const fixed = traces.get(16)!.gasUsed - 16 * marginal;
  const builtInGas = median(builtIn)!;
  const externalGas = median(external)!;
  const range = (xs: readonly number[]) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;
  const perStepRest = marginal - 34_000 - 12_150 - marginalCalldata;
  const rows: (string | number)[][] = [
    [
      "snarkjs `Groth16Verifier.verifyProof`, pg-spam (1 signal), tx",
      fmt(bare["pg-spam"]!),
      "",
      `median of ${SPAM_RUNS} (${range(bareAll["pg-spam"]!)})`,
    ],
    [
      "snarkjs `Groth16Verifier.verifyProof`, pg-student (2 signals), tx",
      fmt(bare["pg-student"]!),
      "",
      `median of ${SPAM_RUNS} steps (${range(bareAll["pg-student"]!)})`,
    ],
    [
      "`verifyAndRecord` pg-spam, built-in key",
      `**${fmt(builtInGas)}**`,
      "≤ 240,000",
      `median of ${SPAM_RUNS} (${range(builtIn)}); ${fmt(builtInGas - bare["pg-spam"]!)} over the bare verifier`,
    ],
    [
      "`verifyAndRecord` pg-spam, external snarkjs verifier",
      fmt(externalGas),
      "",
      `median of ${SPAM_RUNS} (${range(external)}); built-in saves ${fmt(externalGas - builtInGas)}`,
    ],
    ...BATCHES.map((n) => [
      `\`recordTraces\`, one ${n}-step student trace`,
      fmt(traces.get(n)!.gasUsed),
      "",
      `**${fmt(per(n))} per proof**${n === TRACE_STEPS ? " (target ≤ 70,000)" : ""}; calldata ${fmt(traces.get(n)!.calldataGas)}`,
    ]),
    [
      "`MessageBoard.submit` → `InferenceOracle.requestInference`",
      fmt(submitted.gasUsed),
      "",
      `${HAM_TEXT.length}-byte text, fee ${requestFee} wei (${FEE_WEI} + ${fmt(CALLBACK_GAS)} gas × ${FEE_PER_GAS_WEI})`,
    ],
    ["`InferenceOracle.requestInference` from an account", fmt(direct.gasUsed), "", "5 input words, no consumer"],
    [
      "`InferenceOracle.fulfill` (nonce, verify, record, pay, callback publishes)",
      fmt(fulfilled.gasUsed),
      "",
      `callback gas ${fmt(CALLBACK_GAS)} offered`,
    ],
    [
      "`PoseidonT8.hash` (7 inputs), tx",
      fmt(hashed.gasUsed),
      "",
      "the commitment requestInference, fulfill and post each recompute",
    ],
    [
      "`MessageBoard.post` (verdict already recorded)",
      fmt(posted.gasUsed),
      "",
      `featurize ${HAM_TEXT.length} bytes + the text's nonce (keccak) + Poseidon(7) + store the text`,
    ],
    [
      "`Timelock.schedule` of a `registerModel`",
      fmt(scheduledRegistration.gasUsed),
      "",
      `executable ${TIMELOCK_DELAY_S / 3600} h later`,
    ],
    [
      "`Timelock.execute` of that `registerModel`",
      fmt(executedRegistration.gasUsed),
      "",
      "the registration itself included",
    ],
    [
      `\`CompletionStore.store\`, the ${TRACE_STEPS}-token completion`,
      fmt(stored.gasUsed),
      "",
      `decodes ${storedPrompt.length} + ${storedText.length} bytes and stores them`,
    ],
  ];
  const table = markdownTable(["transaction", "gas used", "target", "note"], rows);
  const sizes = Object.entries(artifact.contracts)
    .filter(([name]) => name.includes(":"))
    .map(([name, c]) => [
      name.replace(/^(.*):(\w+)$/, "`$2` ($1)"),
      fmt(c.deployedSize),
      `${((100 * c.deployedSize) / EIP170).toFixed(0)}%`,
    ]);
  const sizeTable = markdownTable(["contract", "deployed bytes", "of EIP-170's 24,576"], sizes);
  const body = [
    "## Gas (bench/gas)",
    "",
    `${machineLine()}. anvil ${anvilVersion} (hardfork ${fork}, chain ${anvil.chainId}); solc ${artifact.solc}, optimizer ${artifact.settings.optimizer.enabled ? `on, ${artifact.settings.optimizer.runs} runs` : "off"}, viaIR ${artifact.settings.viaIR}, EVM ${artifact.settings.evmVersion}. Every number is the \`gasUsed\` of a real transaction (the 21,000 base included) sent with an explicit gas limit, with real proofs of the shipped circuits; the contracts are the ones \`deployContracts\` puts on the gateway's chain.`,
    "",
    table,
    "",
    `Targets: \`verifyAndRecord\` of pg-spam ≤ 240,000 (${fmt(builtInGas)}: ${builtInGas <= 240_000 ? "met" : "missed"}); \`recordTraces\` of a ${TRACE_STEPS}-step trace ≤ 70,000 per proof (${fmt(per(TRACE_STEPS))}: ${per(TRACE_STEPS) <= 70_000 ? "met" : "missed"}).`,
    "",
    `- **Built-in keys.** The registry's generated code checks a shipped circuit's proof in place, with the key as constants, exactly as snarkjs's verifier does; an external verifier costs a cold call to another contract (2,600 gas for the account access), the call's ABI encoding and memory, and the storage read of the model's verifier (a cold slot: 2,100). Here that is ${fmt(externalGas - builtInGas)} gas per record. What verify-and-record adds over the bare verifier (${fmt(builtInGas - bare["pg-spam"]!)}) is mostly the new record's storage slot (22,100 cold, zero to non-zero), its event and the proof's calldata passed through.`,
    `- **Batched traces.** n proofs of one circuit cost n + 3 pairings in one precompile call (45,000 + 34,000 per pair) instead of 4n, by a random linear combination. Each step of a longer trace adds ${fmt(marginal)} gas (measured: the 32-step minus the 16-step transaction, over 16): one more pair (34,000), two 6,000-gas scalar multiplications (r·A and r·C) and a 150-gas addition, its calldata (8 proof words and 2 signals, 320 bytes: ${fmt(marginalCalldata)}), and ${fmt(perStepRest)} of memory, hashing (the Fiat–Shamir seed over every proof, r_i, the tokens), the chain check and the event's token word. The rest, ${fmt(fixed)}, is paid once per transaction: the 21,000 base, the pairing base and 3 pairs (147,000), the key's scalar multiplications (Σr·alpha, Σr·IC_0 and one per signal: 24,300), the trace's storage slot (22,100) and event, the 20-word key built in memory, less the first proof's two multiplications (r_0 = 1). So ${TRACE_STEPS} steps cost ${fmt(per(TRACE_STEPS))} per proof and the per-proof cost tends to ${fmt(marginal)}; a single step costs more than \`verifyAndRecord\` (4 pairings either way, plus the batch's multiplications and memory).`,
    `- The oracle's \`fulfill\` runs \`registry.decode\`, the nonce it expects from its caller (keccak of the domain, chain id, oracle, request id and caller), Poseidon(7) for the expected commitment, \`verifyAndRecord\`, the fee's transfer and MessageBoard's callback (the text stored): the ${fmt(CALLBACK_GAS)}-gas callback allowance is only a cap, and the requester pays for it (${FEE_PER_GAS_WEI} wei per gas here). \`MessageBoard.post\` pays for the on-chain featurizing, nonce and Poseidon of its text and for storing it (22,100 gas per new 32-byte slot).`,
    "",
    sizeTable,
    "",
  ].join("\n");
  await writeSection("gas", body);
  console.error(`bench/gas done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
} finally {
  provider.destroy();
  await anvil.stop();
  await rm(dataDir, { recursive: true, force: true });
}
