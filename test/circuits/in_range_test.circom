pragma circom 2.1.0;
include "circuits/in_range.circom";
// one of each way to cut off the values above span
template InRanges() {
    signal input one;   // 8 bits, span 254 (the quantizer's [−127, 127]): one excluded value, an inverse
    signal input three; // 8 bits, span 252: three excluded values, a product and an inverse
    signal input many;  // 4 bits, span 9: six excluded values, a second decomposition
    component a = InRange(8, 254);
    a.in <== one;
    component b = InRange(8, 252);
    b.in <== three;
    component c = InRange(4, 9);
    c.in <== many;
}
component main = InRanges();
