package boltdb
