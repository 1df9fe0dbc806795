pragma circom 2.1.0;
// Poseidon commitments. HashWords chains Poseidon over any number of field elements, 15 at a time
// with the running hash first (circomlibjs computes the same off-chain). Claim packs a small output
// into the low bits of a commitment so that one public signal carries both.
include "circomlib/poseidon.circom";
include "circomlib/bitify.circom";

template HashWords(n) {
    signal input in[n];
    signal output out;
    var chunks = n <= 16 ? 1 : 1 + (n - 16 + 14) \ 15;
    component h[chunks];
    var used = 0;
    for (var c = 0; c < chunks; c++) {
        var take = c == 0 ? (n < 16 ? n : 16) : (n - used < 15 ? n - used : 15);
        h[c] = Poseidon(take + (c == 0 ? 0 : 1));
        if (c > 0) h[c].inputs[0] <== h[c - 1].out;
        for (var k = 0; k < take; k++) h[c].inputs[k + (c == 0 ? 0 : 1)] <== in[used + k];
        used += take;
    }
    out <== h[chunks - 1].out;
}

// claim = (commitment with its low outBits cleared) + value, value < 2^outBits (checked here)
template Claim(outBits) {
    signal input commitment;
    signal input value;
    signal output out;
    component bits = Num2Bits_strict();
    bits.in <== commitment;
    component valueBits = Num2Bits(outBits);
    valueBits.in <== value;
    var high = 0;
    for (var i = outBits; i < 254; i++) high += bits.out[i] * (1 << i);
    out <== high + value;
}
