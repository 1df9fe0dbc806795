pragma circom 2.1.0;
// Rescale, ReLU and saturation in one step: out = min(max(floor(in / 2^shift), 0), 2^outBits − 1).
// Sound: the remainder is range-checked to [0, 2^shift) and the quotient to qBits bits, so the
// division is unique; the clamp reads the quotient's own bits.
include "circomlib/bitify.circom";
include "circomlib/comparators.circom";

// |in| < 2^(qBits − 1 + shift) is the caller's bound (from the compiler's interval analysis).
template Requantize(shift, qBits, outBits) {
    assert(shift >= 1);
    assert(qBits >= 2 && qBits + shift <= 252);
    signal input in;
    signal output out;

    // a power-of-two offset keeps the hint's integer division on non-negative numbers and turns the
    // quotient's top bit into its sign: q = floor(in / 2^shift) + 2^(qBits − 1)
    var offset = 1 << (qBits - 1 + shift);
    signal q;
    signal r;
    q <-- (in + offset) \ (1 << shift);
    r <-- (in + offset) % (1 << shift);
    in + offset === q * (1 << shift) + r;

    component remainder = Num2Bits(shift);
    remainder.in <== r;
    component quotient = Num2Bits(qBits);
    quotient.in <== q;
    signal positive <== quotient.out[qBits - 1];

    var max = (1 << outBits) - 1;
    var low = 0;
    for (var i = 0; i < outBits && i < qBits - 1; i++) low += quotient.out[i] * (1 << i);
    if (qBits - 1 > outBits) {
        var high = 0;
        for (var i = outBits; i < qBits - 1; i++) high += quotient.out[i] * (1 << (i - outBits));
        component fits = IsZero();
        fits.in <== high;
        // fits ? low : max
        signal capped <== fits.out * (low - max) + max;
        out <== positive * capped;
    } else {
        out <== positive * low;
    }
}
