"""The condition estimator (issue 17): clear / rain / night classifier + rain intensity."""
