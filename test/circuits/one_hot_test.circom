pragma circom 2.1.0;
include "circuits/one_hot.circom";
component main = OneHot(6);
