// MariaDB Connector/C (Debian: libmariadb-dev; scripts/setup.sh installs it).
// It speaks the MySQL protocol, so the same client serves MySQL and MariaDB servers.
#include <mysql.h>
