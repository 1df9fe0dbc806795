pragma circom 2.1.0;
// in ∈ [0, span] exactly, for a packed value whose slot is `bits` wide (span < 2^bits). A bit
// decomposition bounds in below 2^bits; the values between span and 2^bits are then cut off the cheaper
// way: when fewer than `bits` of them, the product of in's distances to each must be invertible
// (one constraint for the quantizer's [−127, 127]: 255 values in 8 bits), otherwise span − in gets a
// second decomposition (above span it wraps to a field element far above 2^bits).
include "circomlib/bitify.circom";

template InRange(bits, span) {
    assert(bits <= 252 && span >= 0 && span < (1 << bits));
    signal input in;
    component low = Num2Bits(bits);
    low.in <== in;
    var excluded = (1 << bits) - 1 - span;
    if (excluded > 0 && excluded < bits) {
        signal distance[excluded];
        distance[0] <== in - (span + 1);
        for (var k = 1; k < excluded; k++) distance[k] <== distance[k - 1] * (in - (span + 1 + k));
        signal inverse <-- 1 / distance[excluded - 1];
        distance[excluded - 1] * inverse === 1;
    } else if (excluded > 0) {
        component high = Num2Bits(bits);
        high.in <== span - in;
    }
}
