import cPickle
