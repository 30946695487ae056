"""Operations on the platform as a whole: backup and restore of its database."""
