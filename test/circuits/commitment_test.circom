pragma circom 2.1.0;
include "circuits/commitment.circom";
template HashThenClaim(n, outBits) {
    signal input words[n];
    signal input value;
    signal output commitment;
    signal output claim;
    component h = HashWords(n);
    h.in <== words;
    commitment <== h.out;
    component c = Claim(outBits);
    c.commitment <== h.out;
    c.value <== value;
    claim <== c.out;
}
component main = HashThenClaim(40, 16);
