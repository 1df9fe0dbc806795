pragma circom 2.1.0;
// in ∈ [0, span] exactly, for a packed value whose slot is `bits` wide (span < 2^bits). One bit
// decomposition bounds in below 2^bits; when span + 1 is not a power of two, a second one of span − in
// cuts off the values between span and 2^bits: above span, span − in wraps to a field element far
// above 2^bits, which has no decomposition.
include "circomlib/bitify.circom";

template InRange(bits, span) {
    assert(bits <= 252 && span >= 0 && span < (1 << bits));
    signal input in;
    component low = Num2Bits(bits);
    low.in <== in;
    if (span != (1 << bits) - 1) {
        component high = Num2Bits(bits);
        high.in <== span - in;
    }
}
