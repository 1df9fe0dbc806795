pragma circom 2.1.0;
// A token index as n selector bits: exactly one is set, at position `index`. Doubles as the range
// check index < n, and turns a lookup in a constant table into a linear combination of the bits.
template OneHot(n) {
    signal input index;
    signal output bits[n];
    var count = 0;
    var weighted = 0;
    for (var i = 0; i < n; i++) {
        bits[i] <-- index == i ? 1 : 0;
        bits[i] * (bits[i] - 1) === 0;
        count += bits[i];
        weighted += i * bits[i];
    }
    count === 1;
    weighted === index;
}
