# Upstream mutual TLS with the client certificate chosen per connection:
# proxy_ssl_certificate / proxy_ssl_certificate_key from variables (file paths or data:
# inline PEM), an empty value (no client certificate), a bad value, an encrypted key, and
# verification failures. Certificates come from testdata/pki (see its generate.sh); the
# data: blocks inline a copy of testdata/pki/client-b.crt and client-b.key, so they must be
# refreshed when that PKI is regenerated. Every block also checks that no key material
# reaches the log: no PEM marker, no 64-character base64 run (a PEM body line; checked
# against every key of testdata/pki by tests/tls_mtls.rs). Run: strait prove t/mtls.t
use Test::Nginx::Socket::Lua::Stream 'no_plan';
run_tests();

__DATA__

=== TEST 1: a static client certificate
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/server.crt;
        ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/server.key;
        ssl_client_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/ca.crt;
        ssl_verify_client on;
        return "upstream saw $ssl_client_s_dn\n";
    }
--- stream_server_config
    proxy_ssl on;
    proxy_ssl_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/client-a.crt;
    proxy_ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/client-a.key;
    proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- stream_response
upstream saw CN=client-a,OU=clients,O=strait test,C=US
--- no_error_log eval
["[error]", qr#-----BEGIN|PRIVATE KEY|[A-Za-z0-9+/]{64}#]



=== TEST 2: the certificate from a variable, chosen per connection
--- stream_config
    map $server_port $client_name {
        $TEST_NGINX_STREAM_PORT client-a;
        default                 client-b;
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/server.crt;
        ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/server.key;
        ssl_client_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/ca.crt;
        ssl_verify_client on;
        return "upstream saw $ssl_client_s_dn\n";
    }
--- stream_server_config
    proxy_ssl on;
    proxy_ssl_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/$client_name.crt;
    proxy_ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/$client_name.key;
    proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- stream_server_config2
    proxy_ssl on;
    proxy_ssl_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/$client_name.crt;
    proxy_ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/$client_name.key;
    proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- stream_response
upstream saw CN=client-a,OU=clients,O=strait test,C=US
upstream saw CN=client-b,OU=clients,O=strait test,C=US
--- no_error_log eval
["[error]", qr#-----BEGIN|PRIVATE KEY|[A-Za-z0-9+/]{64}#]



=== TEST 3: data: inline PEM from a variable
# nginx's debug lines print the map's data: values whole (README, differences from nginx):
# at info the key check reads the same lines on both binaries.
--- log_level: info
--- stream_config
    map $remote_addr $inline_cert {
        default "data:-----BEGIN CERTIFICATE-----
MIIDdDCCAlygAwIBAgIURiHHCZQdmbm4GZwFahu0oCPRIZUwDQYJKoZIhvcNAQEL
BQAwKjEPMA0GA1UECgwGc3RyYWl0MRcwFQYDVQQDDA5zdHJhaXQgdGVzdCBDQTAg
Fw0yNjEyMDMxODU3NDJaGA8yMTI2MTEwOTE4NTc0MlowSDELMAkGA1UEBhMCVVMx
FDASBgNVBAoMC3N0cmFpdCB0ZXN0MRAwDgYDVQQLDAdjbGllbnRzMREwDwYDVQQD
DAhjbGllbnQtYjCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAKjDqv9/
cZMvzL6hDMDuj6rwfizRe67pJrEnx6EbRfmQ086391y7cKqlqQm7eN9iN3QdTr0Y
LoCBmcHpvFRlsvqv3fLLSRoR9HvAA9PLEy4rypyDAevFvVPfrguUbHeX3UrMXx9l
voLT2K/bx/JJsVAqxOK0ycZvLEV8hpP/6olkI2X5cRjxQSl27bAg7cYI9X6UFpDb
4+YbOGlP5V/9zGSYRV0StLqwugCC8cLB70+ljRS09pEb7aqgBMxjMsnlj3o78tII
D4oTiPE4rZNuBn+L5sGklfVVHxfCbh1pIIWJ8vjwMk4m6vn4GJL6HXegyPpRf93l
ScMvZJo3G3LVh58CAwEAAaNyMHAwCQYDVR0TBAIwADAOBgNVHQ8BAf8EBAMCB4Aw
EwYDVR0lBAwwCgYIKwYBBQUHAwIwHQYDVR0OBBYEFMo/3iFZxqkzigyTA5m2TiIf
EpnKMB8GA1UdIwQYMBaAFFoXyb0jWntJRdZXMm8jjvBpxjSTMA0GCSqGSIb3DQEB
CwUAA4IBAQChbCFXKac38P8pUIGHuGpYWLEDDzdRvOjuR8UDHsW7UxtRaDZOGxPm
a6uD3+V6LZ8VXIJfnaqBLNen5dC1R5l1um8+VS00s+7wu8reXrAskS5r+fWUkdWu
BVh8qZz4hCP7tzYdUZB4xiiUJj6nAg49WZ379P4/SgcRaAfRQDRpuSvCka9GLYW+
p87pHdQO52AZ6CMvJw4638/msSj/KV/HmnBRaZ73y3u07BOuXaIvWcM5pocfrnSF
OOQ33LQiCjNDN3PAoin+nuPihbrATlj6ronFAPSO0HomW8XSGEj37oSE2XztsWaF
MzZUnVU6mMlJmWJSQ7sp7VcxX407/K1x
-----END CERTIFICATE-----";
    }
    map $remote_addr $inline_key {
        default "data:-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCow6r/f3GTL8y+
oQzA7o+q8H4s0Xuu6SaxJ8ehG0X5kNPOt/dcu3CqpakJu3jfYjd0HU69GC6AgZnB
6bxUZbL6r93yy0kaEfR7wAPTyxMuK8qcgwHrxb1T364LlGx3l91KzF8fZb6C09iv
28fySbFQKsTitMnGbyxFfIaT/+qJZCNl+XEY8UEpdu2wIO3GCPV+lBaQ2+PmGzhp
T+Vf/cxkmEVdErS6sLoAgvHCwe9PpY0UtPaRG+2qoATMYzLJ5Y96O/LSCA+KE4jx
OK2TbgZ/i+bBpJX1VR8Xwm4daSCFifL48DJOJur5+BiS+h13oMj6UX/d5UnDL2Sa
Nxty1YefAgMBAAECggEAPDWu7L+1sAr2M662o6CZHiX2Bhxo0ZL6DGtCVC6sTOkI
QDCvLmTrQd6fi8rYSW47lZAdNuaJNKzIRAAVglDURY74EvbG6mesf3gWhXnmqmrS
OvucdFcUgHeFmzkFZ7eFKnn2l/ePPBLDtJ4nXEBBY/YWT0Gr2UFxnIrcYrIDpadA
KXfXJXEWsLH64qNmvp98MWLTEeTga2IjtoTyud22p+42ejs8KZLoS8tX5zHPE2Xc
9DJdvgeyu5JkmraDtsD3zRDOsmf7IlYU7mVyD4Ef2gELXVSEIHR65+8rimSP8x+r
mBPTn+GTGXo8Nx1CsGSZpxa5oSaeamChqAYjCN9BvQKBgQDua+l4jPDKCGROOpog
f6w5tchp79Fvxx9O3TG/71Ai1t1F1RBwFhCIZOsoaBzLbTJilVh5ZD+OjfG61Wwa
3TF+Ne0L6ZibZC9zCOL21ce/SnWv+jGNXvquToeNVbKfq53fm/9JREmmFqCgfvQM
TA97vQJmZB08xbHcRSUwFpSYAwKBgQC1NQLGu2sqayleQe1VW4jly+ILE6SODlMi
k/otOg+RBW4RNtktqHk3pjppq/9+Do1q3XDowQr7uJoIGzn21v1oVkYoDn3VpNLm
AbXHgQeBXFQZIvMzc8li9Whdf14OETOUfaVk33qvohELSW6uBuFgHmFAElnDMfTl
c0vnWl4FNQKBgQCY3SF1BFCCCH1fVt1pBtLCsZWMrpFGrJGbO+Dg4awsmjyGwIPo
iY0SFjpbztzfZOTQJlbyhd7mJIYfNyU32CgadrLEV4Jb5xExHTp/7jNCp5frO2u3
63Soe3sXmCGNlDgFnXxBWoIp9goIvTz2AXJP8LBwO7IvO8W8p6yfN2sQRwKBgGCs
i3KjAqV6znMvEQN89ihDAbGPJTd0hP3pnIsMcsmX8ATXEj69pw39bSR7Uq9Z7DCb
O2Wxt75b2jGA9Qev4zoK7RrpwFB+wtVbDDQHro1hSKywbLeCimp1KtzW2sL+gloy
Pk72u2mAOT+gSaAmo464JoIcSC9PM6xGOrSPDaIRAoGBAN8DdOzENo9QpbJ8np/1
AGO0G9Teb3zrSa82ijmCunAeY7boIr1BOX6qGmNf2XhBLTP5ybGcsIKmbDKnnuqS
dznWviUVIRQ+NIOqS9bv8ykGJiG2zo2wpd9PRaXkxuiY4vYfkteFOyxcFANZrwjC
e+xbvBi0/Px64XU2ivQSZod/
-----END PRIVATE KEY-----";
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/server.crt;
        ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/server.key;
        ssl_client_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/ca.crt;
        ssl_verify_client on;
        return "upstream saw $ssl_client_s_dn\n";
    }
--- stream_server_config
    proxy_ssl on;
    proxy_ssl_certificate $inline_cert;
    proxy_ssl_certificate_key $inline_key;
    proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- stream_response
upstream saw CN=client-b,OU=clients,O=strait test,C=US
--- no_error_log eval
["[error]", qr#-----BEGIN|PRIVATE KEY|[A-Za-z0-9+/]{64}#]



=== TEST 4: an empty value sends no client certificate
--- stream_config
    map $remote_addr $no_cert {
        default "";
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/server.crt;
        ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/server.key;
        ssl_client_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/ca.crt;
        ssl_verify_client optional;
        return "verify $ssl_client_verify [$ssl_client_s_dn]\n";
    }
--- stream_server_config
    proxy_ssl on;
    proxy_ssl_certificate $no_cert;
    proxy_ssl_certificate_key $no_cert;
    proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- stream_response
verify NONE []
--- no_error_log eval
["[error]", qr#-----BEGIN|PRIVATE KEY|[A-Za-z0-9+/]{64}#]



=== TEST 5: without a client certificate a verifying upstream refuses the session
--- stream_config
    map $remote_addr $no_cert {
        default "";
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/server.crt;
        ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/server.key;
        ssl_client_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/ca.crt;
        ssl_verify_client on;
        return "upstream saw $ssl_client_s_dn\n";
    }
--- stream_server_config
    proxy_ssl on;
    proxy_ssl_certificate $no_cert;
    proxy_ssl_certificate_key $no_cert;
    proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- stream_response
--- error_log
client sent no required SSL certificate while SSL handshaking
--- no_error_log eval
qr#-----BEGIN|PRIVATE KEY|[A-Za-z0-9+/]{64}#



=== TEST 6: a certificate file that does not exist fails the session, not the config
--- stream_config
    map $remote_addr $bad_cert {
        default $TEST_NGINX_FILE_DIR/../testdata/pki/no-such-client.crt;
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/server.crt;
        ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/server.key;
        ssl_client_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/ca.crt;
        ssl_verify_client on;
        return "upstream saw $ssl_client_s_dn\n";
    }
--- stream_server_config
    proxy_ssl on;
    proxy_ssl_certificate $bad_cert;
    proxy_ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/client-a.key;
    proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- stream_response
--- error_log eval
qr/\[error\] .*cannot load certificate ".*no-such-client\.crt"/
--- no_error_log eval
qr#-----BEGIN|PRIVATE KEY|[A-Za-z0-9+/]{64}#



=== TEST 7: a data: value that is not PEM fails the session, and is not logged
--- stream_config
    map $remote_addr $garbage {
        default "data:not a certificate";
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/server.crt;
        ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/server.key;
        ssl_client_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/ca.crt;
        ssl_verify_client on;
        return "upstream saw $ssl_client_s_dn\n";
    }
--- stream_server_config
    proxy_ssl on;
    proxy_ssl_certificate $garbage;
    proxy_ssl_certificate_key $garbage;
    proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- stream_response
--- error_log eval
qr/\[error\] .*cannot load certificate "data:sha256:[0-9a-f]{12},17 bytes": PEM_read_bio_X509_AUX\(\) failed .* while connecting to upstream/
--- no_error_log eval
["not a certificate", qr#-----BEGIN|PRIVATE KEY|[A-Za-z0-9+/]{64}#]



=== TEST 8: an encrypted key is opened with the password file
--- stream_config
    map $remote_addr $enc_name {
        default client-enc;
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/server.crt;
        ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/server.key;
        ssl_client_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/ca.crt;
        ssl_verify_client on;
        return "upstream saw $ssl_client_s_dn\n";
    }
--- stream_server_config
    proxy_ssl on;
    proxy_ssl_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/$enc_name.crt;
    proxy_ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/$enc_name.key;
    proxy_ssl_password_file $TEST_NGINX_FILE_DIR/../testdata/pki/password;
    proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- stream_response
upstream saw CN=client-enc,O=strait test
--- no_error_log eval
["[error]", qr#-----BEGIN|PRIVATE KEY|[A-Za-z0-9+/]{64}#]



=== TEST 9: verification of the upstream against the wrong CA fails
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/server.crt;
        ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/server.key;
        ssl_client_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/ca.crt;
        ssl_verify_client on;
        return "upstream saw $ssl_client_s_dn\n";
    }
--- stream_server_config
    proxy_ssl on;
    proxy_ssl_verify on;
    proxy_ssl_trusted_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/ca2.crt;
    proxy_ssl_name localhost;
    proxy_ssl_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/client-a.crt;
    proxy_ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/client-a.key;
    proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- stream_response
--- error_log eval
qr/\[error\] .*upstream SSL certificate verify error: \(\d+:[^)]+\) while SSL handshaking to upstream/
--- no_error_log eval
qr#-----BEGIN|PRIVATE KEY|[A-Za-z0-9+/]{64}#



=== TEST 10: verification of the upstream name fails on a mismatch
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/server.crt;
        ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/server.key;
        ssl_client_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/ca.crt;
        ssl_verify_client on;
        return "upstream saw $ssl_client_s_dn\n";
    }
--- stream_server_config
    proxy_ssl on;
    proxy_ssl_verify on;
    proxy_ssl_trusted_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/ca.crt;
    proxy_ssl_name wrong.test;
    proxy_ssl_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/client-a.crt;
    proxy_ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/client-a.key;
    proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- stream_response
--- error_log
upstream SSL certificate does not match "wrong.test" while SSL handshaking to upstream
--- no_error_log eval
qr#-----BEGIN|PRIVATE KEY|[A-Za-z0-9+/]{64}#



=== TEST 11: verification of the upstream passes with the right CA and name
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/server.crt;
        ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/server.key;
        ssl_client_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/ca.crt;
        ssl_verify_client on;
        return "upstream saw $ssl_client_s_dn\n";
    }
--- stream_server_config
    proxy_ssl on;
    proxy_ssl_verify on;
    proxy_ssl_trusted_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/ca.crt;
    proxy_ssl_name upstream.test;
    proxy_ssl_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/client-a.crt;
    proxy_ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/client-a.key;
    proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- stream_response
upstream saw CN=client-a,OU=clients,O=strait test,C=US
--- no_error_log eval
["[error]", qr#-----BEGIN|PRIVATE KEY|[A-Za-z0-9+/]{64}#]



=== TEST 12: the upstream session is reused for the same client identity
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/server.crt;
        ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/server.key;
        ssl_client_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/ca.crt;
        ssl_verify_client on;
        ssl_session_cache shared:upstream_sessions:1m;
        return "$ssl_client_s_dn reused=$ssl_session_reused\n";
    }
--- stream_server_config
    proxy_ssl on;
    proxy_ssl_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/client-a.crt;
    proxy_ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/client-a.key;
    proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- stream_server_config2
    proxy_ssl on;
    proxy_ssl_certificate $TEST_NGINX_FILE_DIR/../testdata/pki/client-a.crt;
    proxy_ssl_certificate_key $TEST_NGINX_FILE_DIR/../testdata/pki/client-a.key;
    proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- stream_response
CN=client-a,OU=clients,O=strait test,C=US reused=.
CN=client-a,OU=clients,O=strait test,C=US reused=r
--- no_error_log eval
["[error]", qr#-----BEGIN|PRIVATE KEY|[A-Za-z0-9+/]{64}#]
